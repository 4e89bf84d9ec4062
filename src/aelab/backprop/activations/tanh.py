"""tanh: φ(z) = tanh z, φ'(z) = 1 − a², read off the output a.

Glorot/Xavier init with torch's gain 5/3. Saturates where φ' < 0.1, i.e. |a| > 0.949."""

from __future__ import annotations

import torch
from torch import Tensor

from aelab.backprop.activation import Activation


def _tanh_grad(a: Tensor) -> Tensor:
    return 1 - a * a


ACTIVATION = Activation(
    name="tanh",
    phi=torch.tanh,
    dphi_from_output=_tanh_grad,
    torch_module=torch.nn.Tanh,
    phi_=torch.tanh_,
    gain=5.0 / 3,
    saturation="slope",
)
