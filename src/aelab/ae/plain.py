"""``ae=plain``: the autoencoder of the lecture, ``E = 1/(2n) Σ_k ‖f(x_k) − x_k‖²`` (or BCE), and
nothing else: bit for bit what aelab trained before the kinds existed."""

from __future__ import annotations

from dataclasses import dataclass

from aelab.ae import register
from aelab.ae.base import AEConfig, Kind


@dataclass
class PlainConfig(AEConfig):
    name: str = "plain"


@register("plain", PlainConfig)
class Plain(Kind):
    """Reconstruct the input from its code; the base :class:`Kind` is exactly this."""
