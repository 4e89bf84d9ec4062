"""EMNIST (Cohen et al. 2017): handwritten digits and letters from NIST Special Database 19 in
MNIST's format and size, as six splits (``data.split``): byclass (62 classes), bymerge and
balanced (47: letters that look alike in both cases merged), letters (26), digits and mnist (10).

torchvision downloads the one archive (``gzip.zip``, checked against its published MD5) into
``<data.root>/EMNIST/raw/`` and unpacks every split's gzipped IDX files there; a split's ``.gz``
files lying there are unpacked without the network. The raw files' IDX headers and sizes are
checked. EMNIST's files hold each image transposed (column-major); :meth:`load` turns it upright.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aelab.data.idx import IdxDataset

_MERGED = set("cijklmopsuvwxyz")  # letters whose two cases bymerge and balanced merge
_ALL = sorted(string.digits + string.ascii_letters)
CLASSES = {
    "byclass": tuple(_ALL),
    "bymerge": tuple(c for c in _ALL if c not in _MERGED),
    "balanced": tuple(c for c in _ALL if c not in _MERGED),
    "letters": ("N/A", *string.ascii_lowercase),  # labels 1-26; 0 is unused
    "digits": tuple(string.digits),
    "mnist": tuple(string.digits),
}
SPLITS = tuple(CLASSES)
# (training, test) images per split, as published
SIZES = {
    "byclass": (697_932, 116_323),
    "bymerge": (697_932, 116_323),
    "balanced": (112_800, 18_800),
    "letters": (124_800, 20_800),
    "digits": (240_000, 40_000),
    "mnist": (60_000, 10_000),
}


@dataclass(frozen=True)
class EmnistDataset(IdxDataset):
    """EMNIST's split ``data.split``: its four raw IDX files, its classes, upright images."""

    def split(self, data: Any) -> str:
        return str(self.need(data, "split"))

    def files(self, data: Any) -> dict[str, str | None]:
        prefix = f"emnist-{self.split(data)}"
        return {
            f"{prefix}-{s}-{kind}-ubyte": None for s in ("train", "test") for kind in ("images-idx3", "labels-idx1")
        }

    def class_names(self, data: Any) -> tuple[str, ...]:
        return CLASSES[self.split(data)]

    def images_of(self, data: Any) -> int:
        return sum(SIZES[self.split(data)])

    def fetch(self, root: Path, data: Any) -> None:
        from torchvision import datasets

        datasets.EMNIST(str(root), split=self.split(data), train=True, download=True)

    def load(self, root: Path, data: Any = None) -> tuple[Any, Any, Any, Any]:
        from torchvision import datasets

        split, where = self.split(data), str(Path(root).expanduser())
        train, test = (datasets.EMNIST(where, split=split, train=t) for t in (True, False))
        upright = [s.data.transpose(1, 2).unsqueeze(1).contiguous() for s in (train, test)]
        return upright[0], train.targets, upright[1], test.targets


DATASET = EmnistDataset(
    name="emnist",
    title="EMNIST",
    shape=(1, 28, 28),
    classes=CLASSES["balanced"],
    n_images=sum(SIZES["balanced"]),
    folder="EMNIST/raw",
    keys=("split",),
    tv_class="EMNIST",
)
