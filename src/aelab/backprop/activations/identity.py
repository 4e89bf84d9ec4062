"""identity: φ(z) = z, φ'(z) = 1 — nothing to keep, nothing to multiply (a linear layer)."""

from __future__ import annotations

import torch

from aelab.backprop.activation import Activation


def _identity(z: torch.Tensor) -> torch.Tensor:
    return z


ACTIVATION = Activation(name="identity", phi=_identity, torch_module=torch.nn.Identity, phi_=_identity)
