"""SVHN (Netzer et al. 2011): 32×32 colour crops of house numbers from Street View, digits 0-9,
73,257 training and 26,032 test images (the ``extra`` set is not used), in ``<data.root>/SVHN/`` as
torchvision downloads them: ``train_32x32.mat`` and ``test_32x32.mat`` (MATLAB files holding ``X``,
32 × 32 × 3 × N bytes, and ``y``, N × 1 labels with 10 for the digit 0), each checked against its
published MD5, then its variables' shapes read without loading them. ``data.grayscale=true``: one
luma channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aelab.data.dataset import Dataset, offline
from aelab.data.fetch import check_digest, download, read
from aelab.errors import DataError

# the published MD5 of each file (torchvision.datasets.SVHN's split_list)
MD5 = {"train": "e26dedcc434d2e4c54c9b2d4a06d8373", "test": "eb5a983be6a315427106f1b164d9cef3"}


def mat_size(path: Path, md5: str | None) -> int:
    """Check one ``<split>_32x32.mat`` (its MD5, then its variables' shapes); return its image count."""
    check_digest(path, read(path), md5=md5)
    from scipy.io import whosmat

    try:
        shapes = {name: shape for name, shape, _ in whosmat(str(path))}
    except Exception as err:  # not a MATLAB file, or a damaged one: said in one line
        raise DataError(f"{path} is not an SVHN .mat file ({type(err).__name__}: {err})") from None
    x, y = shapes.get("X"), shapes.get("y")
    if x is None or y is None or tuple(x[:3]) != (32, 32, 3) or len(x) != 4 or y[0] != x[3]:
        raise DataError(f"{path} is not an SVHN .mat file: X {x}, y {y}; expected X 32 × 32 × 3 × N and y N × 1")
    return int(x[3])


@dataclass(frozen=True)
class SvhnDataset(Dataset):
    md5: dict[str, str] = field(default_factory=lambda: dict(MD5))

    def check(self, root: Path, download_ok: bool, data: Any = None) -> tuple[int, int]:
        base = Path(root).expanduser() / self.folder
        missing = [f"{s}_32x32.mat" for s in self.md5 if not (base / f"{s}_32x32.mat").is_file()]
        if missing:
            where = f"{self.title} is not in {base} (missing {', '.join(missing)})"
            if offline() or not download_ok:
                raise self.missing_advice(where, download_ok)
            download([Path(root).expanduser(), base], lambda: self.fetch(base), where, self.folder)
        train, test = (mat_size(base / f"{s}_32x32.mat", md5) for s, md5 in self.md5.items())
        return train, test

    def fetch(self, base: Path) -> None:
        from torchvision import datasets

        for split in self.md5:
            datasets.SVHN(str(base), split=split, download=True)

    def load(self, root: Path, data: Any = None) -> tuple[Any, Any, Any, Any]:
        import torch
        from torchvision import datasets

        out = []
        for split in self.md5:
            loaded = datasets.SVHN(str(Path(root).expanduser() / self.folder), split=split)
            out += [torch.from_numpy(loaded.data).contiguous(), torch.from_numpy(loaded.labels).long()]
        return out[0], out[1], out[2], out[3]


DATASET = SvhnDataset(
    name="svhn",
    title="SVHN",
    shape=(3, 32, 32),
    classes=tuple("0123456789"),
    folder="SVHN",
    n_images=99_289,
    keys=("grayscale",),
)
