"""softplus: φ(z) = log(1 + e^z), φ'(z) = σ(z) = 1 − e^(−a), read off the output a (e^a = 1 + e^z).

Glorot/Xavier init (gain 1). Saturates where φ' < 0.1, i.e. a < 0.105 (z < −2.2)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from aelab.backprop.activation import Activation


def _softplus_grad(a: Tensor) -> Tensor:
    # 1 − e^(−a), written as −expm1(−a) so it stays accurate when a ≈ 0 (z very negative).
    return -torch.expm1(-a)


ACTIVATION = Activation(
    name="softplus",
    phi=F.softplus,
    dphi_from_output=_softplus_grad,
    torch_module=torch.nn.Softplus,
    saturation="slope",
)
