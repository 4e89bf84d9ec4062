"""What every autoencoder kind shares: its config fields, and the hooks a kind fills in.

A kind is what a network is trained *as*. It changes the forward pass (corrupt the input, sample
the code), adds terms to the loss (``AEOutput.loss_terms``: a penalty, a KL divergence), may add
evaluation metrics, and says what the dashboards show of it — and never the network itself, which
stays the model family's (``model=mlp|conv``), so every kind runs on every family, impl,
activation and depth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor

from aelab.errors import ConfigError
from aelab.models.base import AEOutput, Autoencoder


def check_number(
    key: str, value: Any, low: float | None = None, high: float | None = None, open_: bool = False
) -> None:
    """``value`` is a number in [low, high] (``open_``: in (low, high)), else a ConfigError naming ``key``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{key}={value} is not a number")
    below = low is not None and (value <= low if open_ else value < low)
    above = high is not None and (value >= high if open_ else value > high)
    if below or above:
        bounds = []
        if low is not None:
            bounds.append(f"{key} {'>' if open_ else '>='} {low:g}")
        if high is not None:
            bounds.append(f"{key} {'<' if open_ else '<='} {high:g}")
        raise ConfigError(f"{key}={value} is out of range: {' and '.join(bounds)}")


@dataclass
class AEConfig:
    """The fields every kind shares (``ae.*``); each kind's config adds its own."""

    name: str = "?"

    def check(self) -> None:
        """Ranges and choices of the kind's own keys; each failure a ConfigError naming ``ae.<key>``."""

    def check_with(self, config: Any) -> None:
        """Rules that tie the kind to the rest of the config (e.g. ``ae=vae`` needs ``loss=bce``)."""


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

    name: ClassVar[str] = "?"

    def __init__(self, config: AEConfig) -> None:
        config.check()
        self.config = config

    def prepare(self, model: Autoencoder) -> None:
        """Adapt a freshly built network before its first use (the VAE's (μ, log σ²) code layer)."""

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


__all__ = ["AEConfig", "Kind", "KindStats", "check_number"]
