"""The per-epoch order of the training set and the one augmentation: small random shifts."""

from __future__ import annotations

import torch
from torch import Tensor


def epoch_permutation(n: int, generator: torch.Generator) -> Tensor:
    """A fresh order of the n training examples: the lecture's reshuffling, once per epoch.
    Mini-batches are consecutive slices of it (``perm.split(batch_size)``)."""
    return torch.randperm(n, generator=generator)


def shift_images(x: Tensor, max_shift: int, offsets: Tensor) -> Tensor:
    """Translate image i by (offsets[0, i], offsets[1, i]) − max_shift pixels, zero fill.

    ``offsets`` (2, n) holds integers in [0, 2·max_shift], drawn once per epoch for the whole
    training set (no host→device copy per step)."""
    n, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (max_shift,) * 4)
    rows = (torch.arange(h, device=x.device) + offsets[0, :, None])[:, :, None]  # (n, h, 1)
    cols = (torch.arange(w, device=x.device) + offsets[1, :, None])[:, None, :]  # (n, 1, w)
    return padded[torch.arange(n, device=x.device)[:, None, None], 0, rows, cols].unsqueeze(1)
