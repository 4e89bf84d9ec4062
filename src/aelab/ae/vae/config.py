"""``ae=vae``: the variational autoencoder's key (conf/ae/vae.yaml also selects loss=bce)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aelab.ae.config import AEConfig
from aelab.errors import ConfigError
from aelab.keys import key


@dataclass
class VAEConfig(AEConfig):
    name: str = key("vae", "a code sampled from q(z|x); the loss is the negative ELBO", hparam="ae")
    beta: float = key(1.0, "the KL term's weight (β-VAE; 1 is the ELBO)", low=0, hparam="ae_beta")

    @classmethod
    def describe(cls, config: dict[str, Any]) -> str:
        return f"VAE (β = {config['ae'].get('beta')})"

    def check_with(self, config: Any) -> None:
        if config.loss.name != "bce":
            raise ConfigError(
                f"ae=vae trains the negative ELBO of Bernoulli pixels, which is loss=bce, not loss={config.loss.name} "
                "(ae=vae selects loss=bce unless loss= is given)"
            )
        if config.model.code_activation != "identity":
            raise ConfigError(
                f"ae=vae reads μ and log σ² from the code layer's linear outputs, so model.code_activation must be "
                f"identity, not {config.model.code_activation}"
            )


CONFIG = VAEConfig
