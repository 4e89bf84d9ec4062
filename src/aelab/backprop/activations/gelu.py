"""gelu: φ(z) = z Φ(z), φ'(z) = Φ(z) + z φ_N(z), computed from the pre-activation z.

Φ(z) = ½(1 + erf(z/√2)) and φ_N(z) = e^(−z²/2)/√(2π) are the standard normal cdf and pdf: the exact
erf form (torch's default ``approximate="none"``, the native twin ``nn.GELU()``). φ falls to its
minimum −0.17 at z ≈ −0.75 and rises again, so an output a < 0 comes from two z with different
slopes: φ' cannot be read off a, and the layer keeps z.

Init: He/Kaiming-like (for z ≫ 0 φ is the identity, for z ≪ 0 it is 0, as ReLU), with the gain that
keeps Var(z) = 1 from layer to layer, 1/√E[φ(z)²] = 1.534 for z ~ N(0, 1)
(:func:`~aelab.backprop.activation.variance_preserving_gain`; ReLU's √2 = 1.414 would shrink the
variance by 15 % per layer). torch's ``calculate_gain`` has no entry for GELU.

Saturation (``slope``): |φ'(z)| < 0.1 · max |φ'| = 0.113, which holds for z < −1.73 (the tail) and
for −1.16 < z < −0.53 (where φ' crosses 0); in between, the negative lobe passes up to 0.129 of the
gradient with its sign flipped.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from aelab.backprop.activation import Activation, peak_slope, variance_preserving_gain


def _gelu(z: Tensor) -> Tensor:
    return F.gelu(z)  # z Φ(z), the exact erf form


def _gelu_grad(z: Tensor) -> Tensor:
    cdf = 0.5 * (1 + torch.erf(z * math.sqrt(0.5)))  # Φ(z)
    pdf = torch.exp(-0.5 * z * z) * (1 / math.sqrt(2 * math.pi))  # φ_N(z)
    return cdf + z * pdf


def _gelu_delta(g: Tensor, z: Tensor) -> Tensor:
    # g ⊙ φ'(z) in one pass: aten's gelu_backward(g, z) is exactly g · (Φ(z) + z φ_N(z)) (the kernel
    # native GELU's backward runs), and it is differentiable, so gradgradcheck holds.
    return torch.ops.aten.gelu_backward(g, z)


ACTIVATION = Activation(
    name="gelu",
    phi=_gelu,
    dphi_from_input=_gelu_grad,
    fused_delta=_gelu_delta,
    torch_module=torch.nn.GELU,
    init="kaiming",
    gain=variance_preserving_gain(_gelu),
    saturation="slope",
    max_slope=peak_slope(_gelu_grad),
)
