"""The one typed output every autoencoder returns."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass
class AEOutput:
    """logits: pre-sigmoid reconstruction (for a stable BCE); recon = σ(logits), images in
    [0, 1], shaped like the input; code: the bottleneck, (batch, code_dim)."""

    logits: Tensor
    recon: Tensor
    code: Tensor
