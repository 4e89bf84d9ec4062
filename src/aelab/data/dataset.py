"""What a dataset is to aelab: a name, an image shape, class names, and how its files are checked
and loaded. Each dataset is one row, ``aelab/data/sets/<name>.py`` exporting ``DATASET``, plus
``conf/data/<name>.yaml``; every caller loads through :func:`aelab.data.load.load_dataset`.

Checking a dataset's files never imports torch (the command line refuses missing or damaged data
before anything heavy loads); loading does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aelab.errors import DataError


def offline() -> bool:
    return os.environ.get("AELAB_OFFLINE", "").lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class Dataset:
    """A dataset's rows: images of ``shape`` (channels, height, width) with pixels in [0, 1], and
    labels among ``classes`` (empty: unlabelled)."""

    name: str
    title: str
    shape: tuple[int, int, int]
    classes: tuple[str, ...]
    folder: str  # where under data.root its files live
    n_images: int  # training and test images in all (for the memory a run needs)

    def check(self, root: Path, download: bool) -> tuple[int, int]:
        """Make sure the files are there and sound (downloading them when allowed); return the
        number of (training, test) images. Every problem is one DataError naming the file."""
        raise NotImplementedError

    def load(self, root: Path) -> tuple[Any, Any, Any, Any]:
        """(train images, train labels, test images, test labels): uint8 images N×C×H×W, int64 labels."""
        raise NotImplementedError

    def missing_advice(self, where: str, download: bool) -> DataError:
        """The one-line error for files that are not there and may not be downloaded."""
        point = f"or point data.root (or AELAB_DATA_DIR) at the folder that holds {self.folder}"
        if offline():
            return DataError(f"{where} and AELAB_OFFLINE=1 forbids downloading it: copy the files there, {point}")
        if not download:
            return DataError(f"{where} and data.download=false: allow the download with data.download=true, {point}")
        return DataError(f"{where}: copy the files there, {point}")


__all__ = ["Dataset", "offline"]
