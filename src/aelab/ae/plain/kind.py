"""``ae=plain``: the autoencoder of the lecture, ``E = 1/(2n) Σ_k ‖f(x_k) − x_k‖²`` (or BCE), and
nothing else."""

from __future__ import annotations

from aelab.ae.base import Kind


class Plain(Kind):
    """Reconstruct the input from its code; the base :class:`Kind` is exactly this."""


KIND = Plain
