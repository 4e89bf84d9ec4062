"""mish: φ(z) = z tanh(softplus(z)), φ'(z) = tanh(sp) + z σ(z)(1 − tanh²(sp)) with sp = softplus(z),
computed from the pre-activation z (d softplus/dz = σ(z)).

φ falls to its minimum −0.31 at z ≈ −1.19 and rises again towards 0, so an output a < 0 comes from
two z with different slopes: φ' cannot be read off a, and the layer keeps z.

Init: He/Kaiming-like (for z ≫ 0 φ is the identity, for z ≪ 0 it is 0, as ReLU), with the gain that
keeps Var(z) = 1 from layer to layer, 1/√E[φ(z)²] = 1.487 for z ~ N(0, 1)
(:func:`~aelab.backprop.activation.variance_preserving_gain`). torch's ``calculate_gain`` has no
entry for Mish.

Saturation (``slope``): |φ'(z)| < 0.1 · max |φ'| = 0.109, which holds for z < −2.54 (the tail) and for
−2.02 < z < −0.87 (where φ' crosses 0); in between, the negative lobe passes up to 0.113 of the
gradient with its sign flipped.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from aelab.backprop.activation import Activation, peak_slope, variance_preserving_gain


def _mish(z: Tensor) -> Tensor:
    return F.mish(z)  # z tanh(softplus(z))


def _mish_grad(z: Tensor) -> Tensor:
    t = torch.tanh(F.softplus(z))
    return t + z * torch.sigmoid(z) * (1 - t * t)


def _mish_delta(g: Tensor, z: Tensor) -> Tensor:
    # g ⊙ φ'(z) in one pass: aten's mish_backward(g, z) (the kernel native Mish's backward runs). It
    # has no derivative of its own, so a backward that is itself being differentiated (grad mode on
    # inside backward: create_graph, gradgradcheck) takes the formula.
    if torch.is_grad_enabled():
        return g * _mish_grad(z)
    return torch.ops.aten.mish_backward(g, z)


ACTIVATION = Activation(
    name="mish",
    phi=_mish,
    dphi_from_input=_mish_grad,
    fused_delta=_mish_delta,
    torch_module=torch.nn.Mish,
    init="kaiming",
    gain=variance_preserving_gain(_mish),
    saturation="slope",
    max_slope=peak_slope(_mish_grad),
)
