"""relu: φ(z) = max(0, z), φ'(z) = 1[a > 0], read off the output a.

The backward needs φ' only inside δ = g ⊙ φ'(z). For ReLU that product is "g where a > 0, else 0",
which one fused kernel computes (``fused_delta``) instead of building the 0/1 tensor φ' and
multiplying: the same numbers, one pass over memory instead of three, no temporary.

He/Kaiming init with torch's gain √2 (a unit is off half the time); saturation: ``dead`` units."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from aelab.backprop.activation import Activation


def _relu_grad(a: Tensor) -> Tensor:
    return (a > 0).to(a.dtype)


def _relu_delta(g: Tensor, a: Tensor) -> Tensor:
    # g ⊙ 1[a > 0] in one pass: aten's threshold_backward(g, a, 0) is exactly "g where a > 0, else 0"
    # (the kernel native ReLU's backward runs), and it is differentiable, so gradgradcheck holds.
    return torch.ops.aten.threshold_backward(g, a, 0)


ACTIVATION = Activation(
    name="relu",
    phi=torch.relu,
    dphi_from_output=_relu_grad,
    torch_module=torch.nn.ReLU,
    phi_=torch.relu_,
    fused_delta=_relu_delta,
    init="kaiming",
    gain=math.sqrt(2.0),
    saturation="dead",
)
