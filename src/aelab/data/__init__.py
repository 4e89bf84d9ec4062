"""Datasets by name (``data.name``): one row each in ``aelab/data/sets/``, with its images' format
and class names. :func:`image_format` is the one place a run's image shape and value range come
from (they may depend on ``data.*`` keys: the patch size, grayscale, a folder's size); every model,
check, logger and report reads it. :func:`check_data` makes sure a dataset's files are there and
sound before a run writes anything, without importing torch; :mod:`aelab.data.load` then holds the
whole set as tensors on the training device (:func:`~aelab.data.load.load`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aelab.data.dataset import Dataset, ImageFormat, option
from aelab.errors import ConfigError
from aelab.registry import Registry

DATASETS: Registry[Any] = Registry(
    "data.name",
    "aelab.data.sets",
    "DATASET",
    order=("mnist", "fashion_mnist", "kmnist", "emnist", "digits8", "patches", "cifar10", "svhn", "folder"),
)


def dataset_of(data: Any) -> Dataset:
    """The row of ``data.name`` (a DataConfig or a plain dict; default mnist)."""
    return DATASETS.choose("data.name", option(data, "name", "mnist"))


def image_format(data: Any) -> ImageFormat:
    """The shape (C, H, W) and value range of the images a run on ``data`` (its data config) sees."""
    return dataset_of(data).image_format(data)


def class_names(data: Any) -> tuple[str, ...]:
    """The names of ``data``'s classes, in label order (empty: unlabelled)."""
    return tuple(dataset_of(data).class_names(data))


def own_keys() -> dict[str, list[str]]:
    """Each dataset's own ``data.*`` key → the datasets that read it."""
    found: dict[str, list[str]] = {}
    for name in DATASETS:
        for key in DATASETS[name].keys:
            found.setdefault(key, []).append(name)
    return found


def check_keys_apply(data: Any) -> None:
    """Refuse a dataset's own key (``data.patch_size``...) set for a dataset that does not read it."""
    row = dataset_of(data)
    for key, readers in own_keys().items():
        value = option(data, key)
        if key not in row.keys and value is not None:
            where = ", ".join(f"data={r}" for r in readers)
            shown = str(value).lower() if isinstance(value, bool) else value
            raise ConfigError(
                f"data.{key}={shown} does not apply to data={row.name} (only to {where}): remove data.{key}"
            )


def check_data(data: Any) -> tuple[int, int]:
    """``data``'s files in ``data.root`` checked (downloaded when allowed and missing): the number of
    (training, test) images, or one DataError naming the folder or file and the remedy."""
    root = Path(str(option(data, "root", "data"))).expanduser()
    return dataset_of(data).check(root, bool(option(data, "download", False)), data)


def check_dataset(name: str, root: str | Path, download: bool, **keys: Any) -> tuple[int, int]:
    """:func:`check_data` of dataset ``name`` in ``root`` with its own ``keys`` (``split="letters"``)."""
    return check_data({"name": name, "root": str(root), "download": download, **keys})


__all__ = [
    "DATASETS",
    "check_data",
    "check_dataset",
    "check_keys_apply",
    "class_names",
    "dataset_of",
    "image_format",
    "own_keys",
]
