"""leaky_relu: φ(z) = max(z, s·z) with 0 < s < 1, φ'(z) = 1 if a > 0 else s, read off the output a
(a and z share their sign).

He/Kaiming init with torch's gain √(2 / (1 + s²)); saturation: ``dead`` units (only the leak passes)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from aelab.backprop.activation import Activation

LEAKY_RELU_SLOPE = 0.01  # torch's default negative slope, so the native twin matches exactly


def _leaky_relu(z: Tensor) -> Tensor:
    return F.leaky_relu(z, LEAKY_RELU_SLOPE)


def _leaky_relu_(z: Tensor) -> Tensor:
    return F.leaky_relu_(z, LEAKY_RELU_SLOPE)


def _leaky_relu_grad(a: Tensor) -> Tensor:
    return torch.ones_like(a).masked_fill_(a <= 0, LEAKY_RELU_SLOPE)


def _native() -> torch.nn.Module:
    return torch.nn.LeakyReLU(LEAKY_RELU_SLOPE)


ACTIVATION = Activation(
    name="leaky_relu",
    phi=_leaky_relu,
    dphi_from_output=_leaky_relu_grad,
    torch_module=_native,
    phi_=_leaky_relu_,
    init="kaiming",
    gain=math.sqrt(2.0 / (1 + LEAKY_RELU_SLOPE**2)),
    saturation="dead",
)
