"""Datasets as tensors on the training device, split once into train / validation / test.

:func:`load_dataset` holds the whole set in one float tensor (pixels in [0, 1]): the dataset's
training images split into train and a fixed, seeded validation set, and its test images. A
mini-batch is an index slice of a fresh permutation drawn every epoch (the lecture's reshuffling,
:mod:`aelab.data.augment`), so there is no per-sample DataLoader in the hot path.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from aelab.data import DATASETS, check_dataset

N_VAL = 5_000  # the validation images held out of the training set (fewer for tiny test files)


@dataclass
class Splits:
    """Images (N, C, H, W) float in [0, 1] and labels (N,) int64, per split."""

    train_x: Tensor
    train_y: Tensor
    val_x: Tensor
    val_y: Tensor
    test_x: Tensor
    test_y: Tensor

    def to(self, device: torch.device | str) -> Splits:
        return Splits(*(getattr(self, f.name).to(device) for f in fields(self)))


def split_sizes(n_images: int, limit: int | None = None) -> tuple[int, int]:
    """(training, validation) images of a training set of ``n_images`` (see :func:`load_dataset`)."""
    n_val = min(N_VAL, n_images // 12)
    n_train = n_images - n_val
    return (n_train if limit is None else min(limit, n_train)), n_val


def load_dataset(
    name: str,
    root: str | Path,
    download: bool = False,
    limit: int | None = None,
    eval_limit: int | None = None,
    split_seed: int = 0,
    device: torch.device | str = "cpu",
) -> Splits:
    """The dataset as tensors: its training images split into train / validation (5,000, by a
    seeded permutation: 55,000 / 5,000 for MNIST), and its test images.

    Args:
        limit: keep only the first ``limit`` training images (after the split), for quick runs.
        eval_limit: keep only the first ``eval_limit`` validation and test images.
    """
    check_dataset(name, root, download)
    train_images, train_labels, test_images, test_labels = DATASETS[name].load(Path(root).expanduser())
    images = train_images.float().div_(255)
    n_val = split_sizes(len(images))[1]
    perm = torch.randperm(len(images), generator=torch.Generator().manual_seed(split_seed))
    val_idx, train_idx = perm[:n_val], perm[n_val:]
    if limit is not None:
        train_idx = train_idx[:limit]
    val_idx = val_idx[:eval_limit] if eval_limit is not None else val_idx
    test_x, test_y = test_images.float().div_(255), test_labels
    if eval_limit is not None:
        test_x, test_y = test_x[:eval_limit], test_y[:eval_limit]
    splits = Splits(images[train_idx], train_labels[train_idx], images[val_idx], train_labels[val_idx], test_x, test_y)
    return splits.to(device)


def load(config: Any, device: torch.device | str = "cpu", **overrides: Any) -> Splits:
    """:func:`load_dataset` from a ``data`` config (a DataConfig or a plain dict), e.g. a run's."""
    get = config.get if isinstance(config, dict) else lambda k, d=None: getattr(config, k, d)
    args = {k: get(k) for k in ("name", "root", "download", "limit", "eval_limit", "split_seed")}
    args["name"] = args["name"] or "mnist"
    args["download"] = bool(args["download"])
    args["split_seed"] = args["split_seed"] or 0
    return load_dataset(**{**args, **overrides}, device=device)


__all__ = ["N_VAL", "Splits", "load", "load_dataset", "split_sizes"]
