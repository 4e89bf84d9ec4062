"""Datasets as tensors on the training device, split once into train / validation / test.

:func:`load` holds the whole set in one float tensor: the dataset's training images split into
train and a fixed validation set (a seeded draw, or the row's own: other photographs), and its test
images. Pixels are in [0, 1] (uint8 files divided by 255); a dataset that normalises its values
(whitened patches) hands them over as they are. A colour dataset with ``data.grayscale=true`` is
turned grey here, as luma Y = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601). A mini-batch is an index
slice of a fresh permutation drawn every epoch (the lecture's reshuffling, :mod:`aelab.data.augment`),
so there is no per-sample DataLoader in the hot path.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from aelab.data import check_data, dataset_of
from aelab.data.dataset import N_VAL, option
from aelab.errors import DataError

LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601, as PIL's convert("L")


@dataclass
class Splits:
    """Images (N, C, H, W) float and labels (N,) int64, per split."""

    train_x: Tensor
    train_y: Tensor
    val_x: Tensor
    val_y: Tensor
    test_x: Tensor
    test_y: Tensor

    def to(self, device: torch.device | str) -> Splits:
        return Splits(*(getattr(self, f.name).to(device) for f in fields(self)))


def split_sizes(n_images: int, data: Any = None) -> tuple[int, int]:
    """(training, validation) images of a training set of ``n_images`` under ``data`` (its data
    config: the dataset's validation rule, and ``data.limit``)."""
    n_val = dataset_of(data).held_out(n_images)
    n_train = n_images - n_val
    limit = option(data, "limit")
    return (n_train if limit is None else min(int(limit), n_train)), n_val


def as_values(images: Tensor) -> Tensor:
    """Float images: uint8 pixels divided by 255, float values as they are."""
    return images.float().div_(255) if images.dtype == torch.uint8 else images.float()


def to_grey(images: Tensor) -> Tensor:
    """N×3×H×W colour → N×1×H×W luma (the module doc's weights)."""
    weights = torch.tensor(LUMA, dtype=images.dtype).view(1, 3, 1, 1)
    return (images * weights).sum(1, keepdim=True)


def _values(config: Any, overrides: dict[str, Any]) -> dict[str, Any]:
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        values = dataclasses.asdict(config)
    else:
        values = dict(config or {})
    values.update(overrides)
    values["name"] = values.get("name") or "mnist"
    values["download"] = bool(values.get("download"))
    values["split_seed"] = values.get("split_seed") or 0
    return values


def load(config: Any, device: torch.device | str = "cpu", **overrides: Any) -> Splits:
    """The dataset of a ``data`` config (a DataConfig or a plain dict, e.g. a run's) as tensors: its
    training images split into train / validation (the row's rule: 55,000 / 5,000 for MNIST), and
    its test images. ``overrides`` replace keys (``limit=1``: only what evaluation needs).

    ``data.limit`` keeps the first N training images (after the split), ``data.eval_limit`` the
    first N validation and test images."""
    data = _values(config, overrides)
    check_data(data)
    row = dataset_of(data)
    train_images, train_labels, test_images, test_labels = row.load(Path(str(data.get("root"))).expanduser(), data)
    want = row.image_format(data).shape
    grey = want[0] == 1 and train_images.shape[1] == 3
    for split, x in (("training", train_images), ("test", test_images)):
        shape = (1, *x.shape[2:]) if grey else tuple(x.shape[1:])
        if shape != want:
            raise DataError(f"{row.title}: its {split} images are {shape}, expected {want}")
    n_val = row.held_out(len(train_images))
    if row.val_last:  # the row's own validation images: the last n_val (e.g. other photographs)
        n = len(train_images)
        train_idx, val_idx = torch.arange(n - n_val), torch.arange(n - n_val, n)
    else:
        perm = torch.randperm(len(train_images), generator=torch.Generator().manual_seed(int(data["split_seed"])))
        val_idx, train_idx = perm[:n_val], perm[n_val:]
    if data.get("limit") is not None:
        train_idx = train_idx[: int(data["limit"])]
    eval_limit = data.get("eval_limit")
    val_idx = val_idx[:eval_limit] if eval_limit is not None else val_idx
    test_y = test_labels
    if eval_limit is not None:
        test_images, test_y = test_images[:eval_limit], test_y[:eval_limit]

    def values(images: Tensor) -> Tensor:
        # per split, after the split: the whole set is never held as floats (a second copy of it)
        return to_grey(as_values(images)) if grey else as_values(images)

    splits = Splits(
        values(train_images[train_idx]),
        train_labels[train_idx],
        values(train_images[val_idx]),
        train_labels[val_idx],
        values(test_images),
        test_y,
    )
    return splits.to(device)


def load_dataset(
    name: str,
    root: str | Path,
    download: bool = False,
    limit: int | None = None,
    eval_limit: int | None = None,
    split_seed: int = 0,
    device: torch.device | str = "cpu",
    **keys: Any,
) -> Splits:
    """:func:`load` of dataset ``name`` in ``root``; ``keys``: its own data keys (``patch_size=8``)."""
    values = dict(name=name, root=str(root), download=download, limit=limit, eval_limit=eval_limit)
    return load({**values, "split_seed": split_seed, **keys}, device)


__all__ = ["LUMA", "N_VAL", "Splits", "as_values", "load", "load_dataset", "split_sizes", "to_grey"]
