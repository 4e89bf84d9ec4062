"""Image grids of originals and reconstructions (torchvision's make_grid)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn
from torchvision.utils import make_grid, save_image


@torch.no_grad()
def reconstruction_grid(model: nn.Module, images: Tensor) -> Tensor:
    """A (3, H, W) grid: the originals in the first row, their reconstructions below."""
    model.eval()
    recon = model(images).recon.float().clamp(0, 1)
    pairs = torch.cat([images.float(), recon]).cpu()
    return make_grid(pairs, nrow=len(images), padding=2, pad_value=1.0)


def save_reconstruction_grid(model: nn.Module, images: Tensor, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(reconstruction_grid(model, images), path)
    return path
