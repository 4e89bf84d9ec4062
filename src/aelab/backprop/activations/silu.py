"""silu (swish): φ(z) = z σ(z), φ'(z) = σ(z)(1 + z(1 − σ(z))), computed from the pre-activation z.

φ falls to its minimum −0.28 at z ≈ −1.28 and rises again towards 0, so an output a < 0 comes from
two z with different slopes: φ' cannot be read off a, and the layer keeps z.

Init: He/Kaiming-like (for z ≫ 0 φ is the identity, for z ≪ 0 it is 0, as ReLU), with the gain that
keeps Var(z) = 1 from layer to layer, 1/√E[φ(z)²] = 1.677 for z ~ N(0, 1)
(:func:`~aelab.backprop.activation.variance_preserving_gain`; ReLU's √2 = 1.414 would shrink the
variance by 29 % per layer). torch's ``calculate_gain`` has no entry for SiLU.

Saturation (``slope``): |φ'(z)| < 0.1 · max |φ'| = 0.110, which holds for z < −0.88 (the negative
lobe passes at most 0.0998 of the gradient, so it counts as saturated throughout).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from aelab.backprop.activation import Activation, peak_slope, variance_preserving_gain


def _silu(z: Tensor) -> Tensor:
    return F.silu(z)  # z σ(z)


def _silu_grad(z: Tensor) -> Tensor:
    s = torch.sigmoid(z)
    return s * (1 + z * (1 - s))


def _silu_delta(g: Tensor, z: Tensor) -> Tensor:
    # g ⊙ φ'(z) in one pass: aten's silu_backward(g, z) is exactly g · σ(z)(1 + z(1 − σ(z))) (the kernel
    # native SiLU's backward runs). It has no derivative of its own, so a backward that is itself
    # being differentiated (grad mode on inside backward: create_graph, gradgradcheck) takes the formula.
    if torch.is_grad_enabled():
        return g * _silu_grad(z)
    return torch.ops.aten.silu_backward(g, z)


ACTIVATION = Activation(
    name="silu",
    phi=_silu,
    dphi_from_input=_silu_grad,
    fused_delta=_silu_delta,
    torch_module=torch.nn.SiLU,
    init="kaiming",
    gain=variance_preserving_gain(_silu),
    saturation="slope",
    max_slope=peak_slope(_silu_grad),
)
