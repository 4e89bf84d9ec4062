"""sigmoid: φ(z) = 1 / (1 + e^−z), φ'(z) = φ(1 − φ) = a(1 − a), read off the output a.

Glorot/Xavier init (gain 1). Saturates where φ' < 0.1 · ¼, i.e. a < 0.026 or a > 0.974."""

from __future__ import annotations

import torch
from torch import Tensor

from aelab.backprop.activation import Activation


def _sigmoid_grad(a: Tensor) -> Tensor:
    return a * (1 - a)


ACTIVATION = Activation(
    name="sigmoid",
    phi=torch.sigmoid,
    dphi_from_output=_sigmoid_grad,
    torch_module=torch.nn.Sigmoid,
    phi_=torch.sigmoid_,
    saturation="slope",
    max_slope=0.25,
)
