"""Datasets by name (``data.name``): one row each in ``aelab/data/sets/``, with its image shape and
class names. :func:`check_dataset` makes sure a dataset's files are there and sound before a run
writes anything, without importing torch; :mod:`aelab.data.load` then holds the whole set as
tensors on the training device (:func:`~aelab.data.load.load_dataset`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aelab.registry import Registry

DATASETS: Registry[Any] = Registry(
    "data.name", "aelab.data.sets", "DATASET", order=("mnist", "fashion_mnist", "kmnist")
)


def check_dataset(name: str, root: str | Path, download: bool) -> tuple[int, int]:
    """The dataset's files in ``root`` checked (downloaded when allowed and missing): the number of
    (training, test) images, or one DataError naming the folder or file and the remedy."""
    return DATASETS.choose("data.name", name).check(Path(root).expanduser(), download)


__all__ = ["DATASETS", "check_dataset"]
