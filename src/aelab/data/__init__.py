"""Datasets as tensors on the training device, with the lecture's per-epoch reshuffling.

``data.name`` picks a row of :data:`~aelab.data.datasets.DATASETS`. :func:`check_dataset` makes
sure its files are there and sound (downloading them when allowed) before a run writes anything;
:func:`load_dataset` then holds the whole set in one float tensor (pixels in [0, 1]) split into
train / validation (a fixed, seeded split) / test. A mini-batch is an index slice of a fresh
permutation drawn every epoch, so there is no per-sample DataLoader in the hot path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from aelab.data.augment import epoch_permutation, shift_images
from aelab.data.datasets import DATASETS, Dataset
from aelab.data.idx import check_idx
from aelab.errors import ConfigError, DataError

N_VAL = 5_000  # the fixed 55,000 / 5,000 train/validation split (smaller for tiny test files)


@dataclass
class Splits:
    """Images (N, 1, 28, 28) float in [0, 1] and labels (N,) int64, per split."""

    train_x: Tensor
    train_y: Tensor
    val_x: Tensor
    val_y: Tensor
    test_x: Tensor
    test_y: Tensor

    def to(self, device: torch.device | str) -> Splits:
        return Splits(*(getattr(self, f.name).to(device) for f in fields(self)))


def offline() -> bool:
    return os.environ.get("AELAB_OFFLINE", "").lower() in ("1", "true", "yes")


def dataset(name: str) -> Dataset:
    if name not in DATASETS:
        raise ConfigError(f"data.name={name} is not valid; choose one of: {', '.join(DATASETS)}")
    return DATASETS[name]


def raw_folder(name: str, root: str | Path) -> Path:
    return Path(root).expanduser() / dataset(name).torchvision_class / "raw"


def _missing(ds: Dataset, raw: Path) -> list[str]:
    return [f for f in ds.sha256 if not (raw / f).is_file()]


def _extract_archives(ds: Dataset, raw: Path, missing: list[str]) -> list[str]:
    """Unpack ``<file>.gz`` archives lying beside a missing raw file (no network needed)."""
    from torchvision.datasets.utils import extract_archive

    for name in [m for m in missing if (raw / f"{m}.gz").is_file()]:
        try:
            extract_archive(str(raw / f"{name}.gz"), str(raw))
        except (OSError, EOFError) as err:
            raise DataError(
                f"{raw / (name + '.gz')} could not be unpacked ({type(err).__name__}: "
                f"{str(err).splitlines()[0] if str(err) else ''})"
            ) from None
    return _missing(ds, raw)


def _download(ds: Dataset, root: Path, raw: Path, missing: list[str]) -> None:
    from torchvision import datasets

    cls = getattr(datasets, ds.torchvision_class)
    try:
        cls(str(root), train=True, download=True)
        cls(str(root), train=False, download=True)
    except Exception as err:  # the network, a mirror, a checksum: said in one line below
        reason = str(err).strip().splitlines()[0][:120] if str(err).strip() else ""
        raise DataError(
            f"{ds.title} is not in {raw} (missing {', '.join(missing)}) and downloading it failed "
            f"({type(err).__name__}{': ' + reason if reason else ''}): check the network, or copy the files "
            f"there, or point data.root (or AELAB_DATA_DIR) at a folder holding {ds.torchvision_class}/raw"
        ) from None


def check_dataset(name: str, root: str | Path, download: bool) -> tuple[int, int]:
    """Make sure the dataset's four files are in ``<root>/<folder>/raw`` and sound.

    Missing files are unpacked from ``.gz`` archives beside them or downloaded, when
    ``download`` is true and ``AELAB_OFFLINE`` is not set; otherwise one DataError says which
    files are missing, where, and the one remedy that fits. A damaged file is one DataError too."""
    ds = dataset(name)
    root = Path(root).expanduser()
    raw = root / ds.torchvision_class / "raw"
    missing = _missing(ds, raw)
    if missing:
        missing = _extract_archives(ds, raw, missing)
    if missing:
        where = f"{ds.title} is not in {raw} (missing {', '.join(missing)})"
        point = f"or point data.root (or AELAB_DATA_DIR) at the folder that holds {ds.torchvision_class}/raw"
        if offline():
            raise DataError(f"{where} and AELAB_OFFLINE=1 forbids downloading it: copy the files there, {point}")
        if not download:
            raise DataError(f"{where} and data.download=false: allow the download with data.download=true, {point}")
        _download(ds, root, raw, missing)
    counts: dict[str, int] = {}
    for file, sha in ds.sha256.items():
        which = 0 if file.startswith("train") else 1
        counts[file] = check_idx(raw / file, sha, ds.sizes[which] if ds.sizes else None)
    for split in ("train", "t10k"):
        images, labels = counts[f"{split}-images-idx3-ubyte"], counts[f"{split}-labels-idx1-ubyte"]
        if images != labels:
            raise DataError(f"{raw}: {split}-images holds {images:,} images but {split}-labels {labels:,} labels")
    return counts["train-images-idx3-ubyte"], counts["t10k-images-idx3-ubyte"]


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
    from torchvision import datasets

    check_dataset(name, root, download)
    cls = getattr(datasets, dataset(name).torchvision_class)
    train, test = cls(str(Path(root).expanduser()), train=True), cls(str(Path(root).expanduser()), train=False)
    images = train.data.unsqueeze(1).float().div_(255)
    n_val = split_sizes(len(images))[1]
    perm = torch.randperm(len(images), generator=torch.Generator().manual_seed(split_seed))
    val_idx, train_idx = perm[:n_val], perm[n_val:]
    if limit is not None:
        train_idx = train_idx[:limit]
    val_idx = val_idx[:eval_limit] if eval_limit is not None else val_idx
    test_x = test.data.unsqueeze(1).float().div_(255)
    test_y = test.targets
    if eval_limit is not None:
        test_x, test_y = test_x[:eval_limit], test_y[:eval_limit]
    splits = Splits(
        images[train_idx], train.targets[train_idx], images[val_idx], train.targets[val_idx], test_x, test_y
    )
    return splits.to(device)


def load(config: Any, device: torch.device | str = "cpu", **overrides: Any) -> Splits:
    """:func:`load_dataset` from a ``data`` config (a DataConfig or a plain dict), e.g. a run's."""
    get = config.get if isinstance(config, dict) else lambda k, d=None: getattr(config, k, d)
    args = {k: get(k) for k in ("name", "root", "download", "limit", "eval_limit", "split_seed")}
    args["name"] = args["name"] or "mnist"
    args["download"] = bool(args["download"])
    args["split_seed"] = args["split_seed"] or 0
    return load_dataset(**{**args, **overrides}, device=device)


__all__ = [
    "DATASETS",
    "N_VAL",
    "Dataset",
    "Splits",
    "check_dataset",
    "dataset",
    "epoch_permutation",
    "load",
    "load_dataset",
    "offline",
    "raw_folder",
    "shift_images",
    "split_sizes",
]
