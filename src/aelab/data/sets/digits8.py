"""The 8×8 handwritten digits bundled with scikit-learn (``sklearn/datasets/data/digits.csv.gz``;
the UCI "optical recognition of handwritten digits" test set): 1,797 grey images, ten classes,
each pixel a count 0-16 of the set pixels in a 4×4 block of a 32×32 bitmap (divided by 16 here).

A fixed split, as this row documents it: the last 297 images are the test set; of the first 1,500,
300 are held out for validation (a draw seeded by ``data.split_seed``) and 1,200 train.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aelab.data.bundled import bundled_file, package_folder
from aelab.data.dataset import Dataset
from aelab.errors import DataError

FILE = "digits.csv.gz"
SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"  # scikit-learn 1.x
N_IMAGES, N_TEST, MAX_COUNT = 1_797, 297, 16


@dataclass(frozen=True)
class DigitsDataset(Dataset):
    def path(self) -> Path:
        return package_folder("sklearn", "scikit-learn", self.title) / "datasets" / "data"

    def rows(self) -> list[list[int]]:
        """The CSV's rows (64 pixel counts, then the label), checked."""
        folder = self.path()
        text = gzip.decompress(bundled_file(folder, FILE, SHA256, "scikit-learn")).decode()
        rows = [[int(float(v)) for v in line.split(",")] for line in text.splitlines() if line.strip()]
        bad = next((i for i, r in enumerate(rows) if len(r) != 65 or not 0 <= min(r[:64]) <= max(r[:64]) <= 16), None)
        if len(rows) != N_IMAGES or bad is not None:
            raise DataError(f"{folder / FILE} is not scikit-learn's digits ({len(rows)} rows; row {bad} is malformed)")
        return rows

    def check(self, root: Path, download: bool, data: Any = None) -> tuple[int, int]:
        self.rows()
        return N_IMAGES - N_TEST, N_TEST

    def load(self, root: Path, data: Any = None) -> tuple[Any, Any, Any, Any]:
        import torch

        table = torch.tensor(self.rows())
        images = (table[:, :64].float() / MAX_COUNT).view(-1, 1, 8, 8)
        labels = table[:, 64].long()
        n = N_IMAGES - N_TEST
        return images[:n], labels[:n], images[n:], labels[n:]


DATASET = DigitsDataset(
    name="digits8",
    title="scikit-learn's 8×8 digits",
    shape=(1, 8, 8),
    classes=tuple(str(d) for d in range(10)),
    folder="scikit-learn's sklearn/datasets/data",
    n_images=N_IMAGES,
    val_images=300,
)
