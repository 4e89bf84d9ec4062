"""What every autoencoder kind shares: the hooks a kind fills in.

A kind is what a network is trained *as*. It changes the forward pass (corrupt the input, sample
the code), adds terms to the loss (``AEOutput.loss_terms``: a penalty, a KL divergence), may add
evaluation metrics, and says what the dashboards show of it — and never the network itself, which
stays the model family's (``model=mlp|conv``), so every kind runs on every family, impl,
activation and depth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from aelab.ae.config import AEConfig
from aelab.keys import check_fields
from aelab.models.base import AEOutput, Autoencoder


@dataclass
class KindStats:
    """What a kind shows of a model at an epoch's end, on a few validation images: scalars (also
    kept in the run's history), histograms and images for the dashboards."""

    scalars: dict[str, float] = field(default_factory=dict)
    histograms: dict[str, Tensor] = field(default_factory=dict)
    images: dict[str, Tensor] = field(default_factory=dict)


class Kind:
    """The plain autoencoder's behaviour; each kind overrides what it changes.

    Random numbers: in training the kind draws from torch's global generator (saved in every
    checkpoint, so a resumed run draws the same); evaluation and the dashboards pass their own
    seeded ``generator``, so measuring never changes what a run trains.
    """

    def __init__(self, config: AEConfig) -> None:
        check_fields(config, "ae.")
        config.check_rules()
        self.config = config

    @property
    def name(self) -> str:
        return self.config.name

    def prepare(self, model: Autoencoder) -> None:
        """Adapt a freshly built network before its first use (the VAE's (μ, log σ²) code layer); a
        kind with networks of its own puts them in ``model.kind_modules`` (they move, save and load
        with the model, and stay out of the autoencoder's optimizer)."""

    def optimizers(self, model: Autoencoder) -> dict[str, torch.optim.Optimizer]:
        """The kind's own optimizers (their state is in every checkpoint), for :meth:`after_step`."""
        return {}

    def after_step(
        self, model: Autoencoder, x: Tensor, optimizers: dict[str, torch.optim.Optimizer]
    ) -> dict[str, Tensor]:
        """The kind's own updates after the autoencoder's step on the batch ``x`` (an adversarial
        kind's discriminator and generator); returns its losses (device tensors, logged as
        ``loss/<name>``)."""
        return {}

    def forward(self, model: Autoencoder, x: Tensor) -> AEOutput:
        return model.reconstruct(x)

    @torch.no_grad()
    def eval_sums(self, model: Autoencoder, x: Tensor, out: AEOutput, generator: torch.Generator) -> dict[str, Tensor]:
        """Extra evaluation metrics, each summed over the images of ``x`` (evaluate divides by the count)."""
        return {}

    @torch.no_grad()
    def measure(self, model: Autoencoder, x: Tensor, generator: torch.Generator) -> KindStats:
        """What the dashboards show of this kind at an epoch's end (``x``: a few validation images)."""
        return KindStats()


__all__ = ["Kind", "KindStats"]
