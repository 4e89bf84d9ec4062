"""What an autoencoder learns to look for: its first weight layer as a grid of images, the picture of
every sparse-autoencoder tutorial (Ng's UFLDL exercise: localized, oriented edges on natural-image
patches).

A fully connected first layer z = W x + b has one row W_j of C·H·W weights per unit j: its
"filter", the input it responds to most (the x of unit norm that maximises z_j is W_j / ‖W_j‖).
Each row is reshaped to the C×H×W image shape and scaled per unit to [0, 1] as
0.5 + 0.5 · W_j / max|W_j|, so zero is mid-grey, positive light, negative dark, and colour where
the data is colour. A convolutional first layer's kernels (C×k×k) are drawn the same way, as small
tiles enlarged to be seen. Used by the TensorBoard logger (``features/<layer>``), ``aelab-evaluate``
(``features.png``) and the sweep and results reports.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import Tensor, nn

from aelab.images import MIN_SIDE, enlarged

MAX_UNITS = 256  # tiles in one grid (the first units of a wider layer)
MIN_TILE = MIN_SIDE  # pixels: smaller filters (3×3 kernels, 8×8 patches) are enlarged to at least this


def first_layer(model: nn.Module) -> tuple[str, nn.Module]:
    """(name, layer) of the model's first weight layer (``model.layers()``'s first: ``01_enc``)."""
    return model.layers()[0]  # type: ignore[operator]


@torch.no_grad()
def feature_tiles(weight: Tensor, shape: tuple[int, int, int]) -> Tensor:
    """The filters of a first layer as images (units, C, h, w) in [0, 1], each scaled on its own
    (module doc). ``weight``: (units, C·H·W) of a dense layer on images of ``shape``, or
    (units, C, k, k) of a convolution."""
    tiles = weight.detach().float().cpu()
    if tiles.dim() == 2:
        tiles = tiles.view(len(tiles), *shape)
    peak = tiles.flatten(1).abs().amax(1).clamp_min(1e-12).view(-1, 1, 1, 1)
    return (0.5 + 0.5 * tiles / peak).clamp(0, 1)


def tile_grid(tiles: Tensor, pad_value: float = 0.0) -> Tensor:
    """A near-square (3, H, W) grid of (N, C, h, w) tiles in [0, 1], small tiles enlarged (nearest)."""
    from torchvision.utils import make_grid

    return make_grid(enlarged(tiles, MIN_TILE), nrow=math.ceil(math.sqrt(len(tiles))), padding=2, pad_value=pad_value)


def feature_grid(model: nn.Module, max_units: int = MAX_UNITS) -> tuple[str, Tensor]:
    """(the first layer's name, its first ``max_units`` filters as a (3, H, W) grid in [0, 1])."""
    name, layer = first_layer(model)
    weight: Tensor = layer.weight  # type: ignore[assignment]
    return name, tile_grid(feature_tiles(weight[:max_units], tuple(model.shape)))  # type: ignore[arg-type]


def save_feature_grid(model: nn.Module, path: str | Path, max_units: int = MAX_UNITS) -> Path:
    """:func:`feature_grid` as a PNG."""
    from torchvision.utils import save_image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(feature_grid(model, max_units)[1], path)
    return path


__all__ = ["MAX_UNITS", "MIN_TILE", "feature_grid", "feature_tiles", "first_layer", "save_feature_grid", "tile_grid"]
