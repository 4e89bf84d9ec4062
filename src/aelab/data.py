"""MNIST as tensors on the training device, with the lecture's per-epoch reshuffling.

The whole dataset lives in one float tensor (pixels in [0, 1]); a mini-batch is an index slice of
a fresh permutation drawn every epoch, so there is no per-sample DataLoader in the hot path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
import torch
from torch import Tensor

MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
N_VAL = 5_000  # the fixed 55,000 / 5,000 train/validation split


class MissingDataError(RuntimeError):
    """MNIST is not on disk and may not (or could not) be downloaded."""


@dataclass
class MNISTSplits:
    """Images (N, 1, 28, 28) float in [0, 1] and labels (N,) int64, per split."""

    train_x: Tensor
    train_y: Tensor
    val_x: Tensor
    val_y: Tensor
    test_x: Tensor
    test_y: Tensor

    def to(self, device: torch.device | str) -> "MNISTSplits":
        return MNISTSplits(*(getattr(self, f).to(device) for f in self.__dataclass_fields__))


def offline() -> bool:
    return os.environ.get("AELAB_OFFLINE", "").lower() in ("1", "true", "yes")


def _missing_files(root: Path) -> list[str]:
    raw = root / "MNIST" / "raw"
    return [f for f in MNIST_FILES if not (raw / f).exists() and not (raw / f"{f}.gz").exists()]


def _missing_message(root: Path, reason: str) -> str:
    return (
        f"MNIST not found in {root / 'MNIST' / 'raw'} ({reason}). It needs the four files "
        f"{', '.join(MNIST_FILES)}. Point data.root (or the environment variable AELAB_DATA_DIR) "
        "at the folder that holds MNIST/raw, or allow the download with data.download=true and "
        "AELAB_OFFLINE unset."
    )


def _torchvision_mnist(root: Path, download: bool):
    """Both torchvision MNIST splits; raises MissingDataError instead of a network stack trace."""
    from torchvision.datasets import MNIST

    missing = _missing_files(root)
    if missing and (not download or offline()):
        why = "AELAB_OFFLINE=1" if offline() else "data.download=false"
        raise MissingDataError(_missing_message(root, f"missing {', '.join(missing)}; {why}"))
    try:
        return MNIST(str(root), train=True, download=download), MNIST(str(root), train=False, download=download)
    except Exception as err:  # a failed download: the network, a mirror, a checksum
        raise MissingDataError(_missing_message(root, f"download failed: {err}")) from err


def load_mnist(
    root: str | Path,
    download: bool = False,
    limit: int | None = None,
    eval_limit: int | None = None,
    split_seed: int = 0,
    device: torch.device | str = "cpu",
) -> MNISTSplits:
    """MNIST as tensors: 55,000 train / 5,000 validation (a fixed, seeded split) / 10,000 test.

    Args:
        limit: keep only the first ``limit`` training images (after the split), for quick runs.
        eval_limit: keep only the first ``eval_limit`` validation and test images.
    """
    root = Path(root).expanduser()
    train, test = _torchvision_mnist(root, download)
    images = train.data.unsqueeze(1).float().div_(255)
    perm = torch.randperm(len(images), generator=torch.Generator().manual_seed(split_seed))
    val_idx, train_idx = perm[:N_VAL], perm[N_VAL:]
    if limit is not None:
        train_idx = train_idx[:limit]
    val_idx = val_idx[:eval_limit] if eval_limit is not None else val_idx
    test_x = test.data.unsqueeze(1).float().div_(255)
    test_y = test.targets
    if eval_limit is not None:
        test_x, test_y = test_x[:eval_limit], test_y[:eval_limit]
    splits = MNISTSplits(
        images[train_idx], train.targets[train_idx], images[val_idx], train.targets[val_idx], test_x, test_y
    )
    return splits.to(device)


def epoch_permutation(n: int, generator: torch.Generator) -> Tensor:
    """A fresh order of the n training examples: the lecture's reshuffling, once per epoch.
    Mini-batches are consecutive slices of it (``perm.split(batch_size)``)."""
    return torch.randperm(n, generator=generator)
