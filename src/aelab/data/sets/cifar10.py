"""CIFAR-10 (Krizhevsky 2009): 32×32 colour photographs of ten classes, 50,000 training and 10,000
test images, in ``<data.root>/cifar-10-batches-py/`` as torchvision downloads them: five pickled
training batches, one test batch and ``batches.meta``, each checked against its published MD5.
A batch is a pickled dict whose ``data`` is N × 3072 bytes (the red, green, then blue 32×32 plane
of each image) and ``labels`` N class numbers. ``data.grayscale=true``: one luma channel.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aelab.data.dataset import Dataset, offline
from aelab.data.fetch import check_digest, download, read
from aelab.errors import DataError

# the published MD5 of each file (torchvision.datasets.CIFAR10's lists)
MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}
VALUES = 3 * 32 * 32


def batch_size(path: Path, md5: str | None) -> int:
    """Check one pickled batch (its MD5, then its contents); return its number of images."""
    data = read(path)
    check_digest(path, data, md5=md5)
    try:
        batch = pickle.loads(data, encoding="latin1")
        images, labels = batch["data"], batch["labels"]
        shape = tuple(images.shape)
    except Exception as err:  # an unpickling error, or not a batch: said in one line
        raise DataError(f"{path} is not a CIFAR batch ({type(err).__name__}: {err})") from None
    if len(shape) != 2 or shape[1] != VALUES or len(labels) != shape[0]:
        raise DataError(f"{path} is not a CIFAR batch: {shape} values for {len(labels)} labels, expected N × {VALUES}")
    return int(shape[0])


@dataclass(frozen=True)
class CifarDataset(Dataset):
    """Pickled batches in ``<data.root>/<folder>``, read by ``torchvision.datasets.<tv_class>``."""

    tv_class: str = "CIFAR10"
    md5: dict[str, str] = field(default_factory=lambda: dict(MD5))

    def check(self, root: Path, download_ok: bool, data: Any = None) -> tuple[int, int]:
        base = Path(root).expanduser() / self.folder
        missing = [f for f in self.md5 if not (base / f).is_file()]
        if missing:
            where = f"{self.title} is not in {base} (missing {', '.join(missing)})"
            if offline() or not download_ok:
                raise self.missing_advice(where, download_ok)
            download([Path(root).expanduser(), base], lambda: self.fetch(Path(root).expanduser()), where, self.folder)
        meta = base / "batches.meta"
        check_digest(meta, read(meta), md5=self.md5["batches.meta"])
        counts = {f: batch_size(base / f, md5) for f, md5 in self.md5.items() if f != "batches.meta"}
        test = counts.pop("test_batch")
        return sum(counts.values()), test

    def fetch(self, root: Path) -> None:
        from torchvision import datasets

        getattr(datasets, self.tv_class)(str(root), train=True, download=True)

    def load(self, root: Path, data: Any = None) -> tuple[Any, Any, Any, Any]:
        import torch
        from torchvision import datasets

        cls = getattr(datasets, self.tv_class)
        out = []
        for train in (True, False):
            split = cls(str(Path(root).expanduser()), train=train)
            out += [torch.from_numpy(split.data).permute(0, 3, 1, 2).contiguous(), torch.tensor(split.targets)]
        return out[0], out[1], out[2], out[3]


DATASET = CifarDataset(
    name="cifar10",
    title="CIFAR-10",
    shape=(3, 32, 32),
    classes=("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
    folder="cifar-10-batches-py",
    n_images=60_000,
    keys=("grayscale",),
)
