"""elu: φ(z) = z if z > 0 else α(e^z − 1), φ'(z) = 1 if a > 0 else a + α, read off the output a
(a = α(e^z − 1) ⇒ α e^z = a + α).

ReLU's identity for z > 0, a smooth negative tail to −α; He init as for ReLU (half the units near
zero). Saturates where φ' < 0.1, i.e. a < −0.9 (z < −2.3)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from aelab.backprop.activation import Activation

ELU_ALPHA = 1.0  # torch's default, so the native twin matches exactly


def _elu(z: Tensor) -> Tensor:
    return F.elu(z, ELU_ALPHA)


def _elu_(z: Tensor) -> Tensor:
    return F.elu_(z, ELU_ALPHA)


def _elu_grad(a: Tensor) -> Tensor:
    return torch.where(a > 0, torch.ones_like(a), a + ELU_ALPHA)


def _native() -> torch.nn.Module:
    return torch.nn.ELU(ELU_ALPHA)


ACTIVATION = Activation(
    name="elu",
    phi=_elu,
    dphi_from_output=_elu_grad,
    torch_module=_native,
    phi_=_elu_,
    init="kaiming",
    gain=math.sqrt(2.0),
    saturation="slope",
)
