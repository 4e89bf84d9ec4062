"""``ae=adversarial``: the adversarial autoencoder's keys (Makhzani et al. 2015)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aelab.ae.config import AEConfig
from aelab.errors import ConfigError
from aelab.keys import key

PRIORS = ("gaussian", "mixture10")


@dataclass
class AdversarialConfig(AEConfig):
    name: str = key("adversarial", "match the codes to a prior with a discriminator", hparam="ae")
    prior: str = key(
        "gaussian",
        "gaussian: N(0, I); mixture10: ten Gaussians on a circle in the code's first two units",
        choices=PRIORS,
        hparam="ae_prior",
    )
    d_hidden: int = key(256, "units of each of the discriminator's two hidden layers", low=1, hparam="ae_d_hidden")
    d_lr: float = key(2e-4, "the discriminator's learning rate (Adam)", above=0, hparam="ae_d_lr")
    g_lr: float = key(2e-4, "the encoder's learning rate in the regularization phase (Adam)", above=0, hparam="ae_g_lr")
    weight: float = key(1.0, "the regularization phase's loss weight on the encoder", low=0, hparam="ae_weight")

    def check_with(self, config: Any) -> None:
        if config.trainer.cuda_graphs or config.trainer.compile:
            raise ConfigError(
                "ae=adversarial alternates three updates per step (autoencoder, discriminator, encoder), which "
                "trainer.cuda_graphs and trainer.compile do not capture: set them to false"
            )
        if self.prior == "mixture10" and config.model.code_dim < 2:
            raise ConfigError("ae.prior=mixture10 lies in the code's first two units: it needs model.code_dim >= 2")


CONFIG = AdversarialConfig
