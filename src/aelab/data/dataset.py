"""What a dataset is to aelab: a name, its images' format (shape, value range), class names, and
how its files are checked and loaded. Each dataset is one row, ``aelab/data/sets/<name>.py``
exporting ``DATASET``, plus ``conf/data/<name>.yaml``; every caller loads through
:func:`aelab.data.load.load_dataset` and reads a shape through :func:`aelab.data.image_format`.

A row reads the ``data.*`` keys every dataset shares (root, download, limit, ...) and the ones it
lists in ``keys`` (``patch_size``, ``grayscale``, ...): the others are refused for it
(:func:`aelab.data.check_keys_apply`). A key it lists is set by its ``conf/data/<name>.yaml``; a
config built without that file names the key it lacks (:meth:`Dataset.need`).

Checking a dataset's files never imports torch (the command line refuses missing or damaged data
before anything heavy loads); loading does. A row module imports no torch at its top either.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aelab.errors import ConfigError, DataError

N_VAL = 5_000  # the validation images held out of a large training set
UNIT = (0.0, 1.0)


def offline() -> bool:
    return os.environ.get("AELAB_OFFLINE", "").lower() in ("1", "true", "yes")


def option(data: Any, key: str, default: Any = None) -> Any:
    """A ``data.*`` key's value from a DataConfig, a plain dict (a recorded config) or None."""
    if data is None:
        return default
    value = data.get(key, default) if isinstance(data, dict) else getattr(data, key, default)
    return default if value is None else value


@dataclass(frozen=True)
class ImageFormat:
    """A run's images: ``shape`` (channels, height, width) and ``value_range``: (0, 1) for pixels,
    None for real values (standardized or whitened patches), which a σ output cannot reach."""

    shape: tuple[int, int, int]
    value_range: tuple[float, float] | None = UNIT

    @property
    def n_values(self) -> int:
        """Values per image: C·H·W (``sq_err_per_image`` sums over them)."""
        return math.prod(self.shape)

    @property
    def in_unit_range(self) -> bool:
        return self.value_range == UNIT


@dataclass(frozen=True)
class Dataset:
    """A dataset's row: images of ``shape`` (channels, height, width; under its default keys) with
    pixels in [0, 1], and labels among ``classes`` (empty: unlabelled)."""

    name: str
    title: str
    shape: tuple[int, int, int]
    classes: tuple[str, ...]
    folder: str  # where under data.root its files live
    n_images: int  # training and test images in all (for the memory a run needs)
    keys: tuple[str, ...] = ()  # the dataset's own data.* keys (beyond those every dataset reads)
    val_images: int | None = None  # validation images held out of its training images (None: the rule)
    val_last: bool = False  # validation = the last val_images training images (else a seeded draw)

    def image_format(self, data: Any) -> ImageFormat:
        """The images' shape and value range under ``data`` (a data config): a colour dataset with
        ``data.grayscale=true`` has one channel."""
        c, h, w = self.shape
        return ImageFormat((1, h, w) if option(data, "grayscale") and "grayscale" in self.keys else (c, h, w))

    def class_names(self, data: Any) -> tuple[str, ...]:
        return self.classes

    def images_of(self, data: Any) -> int:
        """Training and test images in all under ``data`` (for the memory a run needs)."""
        return self.n_images

    def held_out(self, n_images: int) -> int:
        """Validation images held out of ``n_images`` training images: the row's number, else
        5,000 of a large set (1/12 of a small one, at least 1)."""
        if self.val_images is not None:
            return min(self.val_images, n_images - 1)
        return max(1, min(N_VAL, n_images // 12))

    def check(self, root: Path, download: bool, data: Any = None) -> tuple[int, int]:
        """Make sure the files are there and sound (downloading them when allowed); return the
        number of (training, test) images. Every problem is one DataError naming the file."""
        raise NotImplementedError

    def load(self, root: Path, data: Any = None) -> tuple[Any, Any, Any, Any]:
        """(train images, train labels, test images, test labels): images N×C×H×W, uint8 (pixels
        0–255) or float (values as the run sees them); int64 labels."""
        raise NotImplementedError

    def need(self, data: Any, key: str, hint: str | None = None) -> Any:
        """The value of one of the row's own keys, or one ConfigError naming it (``hint``: what to set)."""
        value = option(data, key)
        if value is None:
            hint = hint or (
                f"conf/data/{self.name}.yaml sets it (compose the config with data={self.name}, or set data.{key}=...)"
            )
            raise ConfigError(f"data={self.name} needs data.{key}; {hint}")
        return value

    def missing_advice(self, where: str, download: bool) -> DataError:
        """The one-line error for files that are not there and may not be downloaded."""
        point = f"or point data.root (or AELAB_DATA_DIR) at the folder that holds {self.folder}"
        if offline():
            return DataError(f"{where} and AELAB_OFFLINE=1 forbids downloading it: copy the files there, {point}")
        if not download:
            return DataError(f"{where} and data.download=false: allow the download with data.download=true, {point}")
        return DataError(f"{where}: copy the files there, {point}")


__all__ = ["N_VAL", "UNIT", "Dataset", "ImageFormat", "offline", "option"]
