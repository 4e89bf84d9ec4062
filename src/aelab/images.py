"""Image grids of originals and reconstructions (torchvision's make_grid), for images of any shape
(small ones enlarged to be seen).

Pixels in [0, 1] are shown as they are (a reconstruction clamped to [0, 1]); real values
(standardized or whitened patches: ``value_range`` None) are shown as 0.5 + 0.5 · x / m with m the
largest |value| of the original, so zero is mid-grey and an original and its reconstruction share
one scale.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import Tensor, nn
from torchvision.utils import make_grid, save_image

UNIT = (0.0, 1.0)
MIN_SIDE = 24  # pixels: smaller images (8×8 digits and patches, 3×3 kernels) are enlarged to at least this


def enlarged(images: Tensor, min_side: int = MIN_SIDE) -> Tensor:
    """``images`` (N, C, h, w) enlarged by a whole factor (nearest) until their longer side is at
    least ``min_side``, so a grid of small images can be seen."""
    scale = max(1, math.ceil(min_side / max(images.shape[-2:])))
    return images if scale == 1 else images.repeat_interleave(scale, dim=-2).repeat_interleave(scale, dim=-1)


def shown(images: Tensor, value_range: tuple[float, float] | None = UNIT, like: Tensor | None = None) -> Tensor:
    """``images`` (N, C, H, W) mapped into [0, 1] for display (module doc); ``like``: the originals
    whose per-image scale they take (default: their own)."""
    images = images.float()
    if value_range is not None:
        low, high = value_range
        return ((images - low) / (high - low)).clamp(0, 1)
    ref = (images if like is None else like).float()
    peak = ref.flatten(1).abs().amax(1).clamp_min(1e-12).view(-1, *([1] * (images.dim() - 1)))
    return (0.5 + 0.5 * images / peak).clamp(0, 1)


@torch.no_grad()
def reconstruction_grid(model: nn.Module, images: Tensor, value_range: tuple[float, float] | None = UNIT) -> Tensor:
    """A (3, H, W) grid: the originals in the first row, their reconstructions below."""
    model.eval()
    recon = model(images).recon.float()
    pairs = torch.cat([shown(images, value_range), shown(recon, value_range, like=images)]).cpu()
    return make_grid(enlarged(pairs), nrow=len(images), padding=2, pad_value=1.0)


def save_reconstruction_grid(
    model: nn.Module, images: Tensor, path: str | Path, value_range: tuple[float, float] | None = UNIT
) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(reconstruction_grid(model, images, value_range), path)
    return path


__all__ = ["MIN_SIDE", "enlarged", "reconstruction_grid", "save_reconstruction_grid", "shown"]
