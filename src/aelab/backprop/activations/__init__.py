"""The lecture's activations: one module per row, each defining ``ACTIVATION``, with φ and φ' side by
side (micrograd style); :class:`~aelab.backprop.activation.Activation` says what a row holds.

φ' is computed from the layer's output ``a = φ(z)`` wherever a determines φ'(z) (φ monotonic), and
from the pre-activation ``z`` where it does not. The lecture's rows, and GELU and SiLU (every row's
own docstring gives its φ, φ', init and saturation; docs/explanation/activations.md has them all):

==============  ===========================  ====================================================
name            φ(z)                         φ'(z)
==============  ===========================  ====================================================
identity        z                            1
sigmoid         1 / (1 + e^−z)               φ(1 − φ) = a(1 − a)
relu            max(0, z)                    1[a > 0]
softplus        log(1 + e^z)                 σ(z) = 1 − e^(−a)      (since e^a = 1 + e^z)
tanh            tanh z                       1 − a²
leaky_relu      max(z, s·z), 0 < s < 1       1 if a > 0 else s      (a and z share their sign)
elu             z if z > 0 else α(e^z − 1)   1 if a > 0 else a + α  (a = α(e^z − 1) ⇒ α e^z = a + α)
gelu            z Φ(z)                       Φ(z) + z φ_N(z)        (from z: Φ, φ_N the normal cdf, pdf)
silu            z σ(z)                       σ(z)(1 + z(1 − σ(z)))  (from z)
==============  ===========================  ====================================================

Because φ' needs only ``a`` in the rows above gelu, such a layer saves nothing that the next
layer does not already hold (its input is the previous layer's saved output), which keeps memory at
or below native autograd. GELU and SiLU dip below zero before rising (their minimum is at z ≈ −0.75
and z ≈ −1.28), so one a comes from two z with different slopes: the layer keeps z as well, which
is what native autograd keeps for the same layer (its activation node saves its input z). All φ'
use differentiable torch ops, so the backward can itself be differentiated (``gradgradcheck``).

Adding an activation is adding one module here: the config, the init, the dashboards, the
verification and the tests (which run over :data:`ACTIVATIONS`) all read the rows. Names are
listed from this folder without importing torch; a row is imported when it is looked up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aelab.registry import Registry

if TYPE_CHECKING:
    from aelab.backprop.activation import Activation

ACTIVATIONS: Registry[Activation] = Registry(
    "activation",
    "aelab.backprop.activations",
    "ACTIVATION",
    order=("identity", "sigmoid", "relu", "softplus", "tanh", "leaky_relu", "elu"),
)


def get_activation(name: str) -> Activation:
    """Look an activation up by name; an unknown name raises ``ValueError`` listing the valid ones."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; valid activations: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


__all__ = ["ACTIVATIONS", "get_activation"]
