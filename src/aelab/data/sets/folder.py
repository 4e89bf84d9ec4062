"""Your own images: ``data.path`` is a folder of image files (PNG, JPEG, BMP, GIF, TIFF, WebP),
either flat (unlabelled) or with one subfolder per class (its name is the class name; files in
deeper folders belong to that class too). Each image is cropped to its central square, resized to
``data.size`` × ``data.size`` and read with ``data.channels`` (1: grey, 3: colour).

A fixed split: within each class, the images sorted by path, every tenth (the 10th, 20th, ...) is
a test image; of the others, 1/12 (at least one) is held out for validation by a draw seeded by
``data.split_seed``. At least 10 images are needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aelab.data.dataset import Dataset, ImageFormat, option
from aelab.errors import DataError

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
MIN_IMAGES = 10
TEST_EVERY = 10


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())


def listing(path: Path) -> tuple[tuple[str, ...], list[tuple[Path, int]]]:
    """(class names, [(file, label)]) of the folder: one class per subfolder, or none (all label 0)."""
    classes = tuple(sorted(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")))
    if not classes:
        return (), [(p, 0) for p in _images(path) if p.parent == path]
    return classes, [(p, label) for label, name in enumerate(classes) for p in _images(path / name)]


def is_test(files: list[tuple[Path, int]]) -> list[bool]:
    """Whether each file is a test image: every TEST_EVERY-th of its class."""
    seen: dict[int, int] = {}
    out = []
    for _, label in files:
        seen[label] = seen.get(label, 0) + 1
        out.append(seen[label] % TEST_EVERY == 0)
    return out


@dataclass(frozen=True)
class FolderDataset(Dataset):
    def path(self, data: Any) -> Path:
        path = Path(str(self.need(data, "path", "point it at the folder of your images: data.path=DIR"))).expanduser()
        if not path.is_dir():
            raise DataError(f"data.path={path} is not a folder: point data.path at the folder of your images")
        return path

    def image_format(self, data: Any) -> ImageFormat:
        side, channels = int(self.need(data, "size")), int(self.need(data, "channels"))
        return ImageFormat((channels, side, side))

    def class_names(self, data: Any) -> tuple[str, ...]:
        return listing(self.path(data))[0]

    def images_of(self, data: Any) -> int:
        path = Path(str(option(data, "path", ""))).expanduser()
        return len(listing(path)[1]) if option(data, "path") and path.is_dir() else 0

    def check(self, root: Path, download: bool, data: Any = None) -> tuple[int, int]:
        from PIL import Image

        path = self.path(data)
        self.image_format(data)  # the keys are set
        classes, files = listing(path)
        if len(files) < MIN_IMAGES:
            layout = f"{len(classes)} class folders" if classes else "no class folders"
            raise DataError(f"{path} holds {len(files)} images ({layout}); data=folder needs at least {MIN_IMAGES}")
        for file, _ in files:
            try:
                with Image.open(file) as image:
                    image.verify()
            except Exception as err:  # PIL raises many kinds: said in one line
                raise DataError(f"{file} is not an image that can be read ({type(err).__name__}: {err})") from None
        n_test = sum(is_test(files))
        return len(files) - n_test, n_test

    def load(self, root: Path, data: Any = None) -> tuple[Any, Any, Any, Any]:
        import numpy as np
        import torch
        from PIL import Image

        channels, side, _ = self.image_format(data).shape
        files = listing(self.path(data))[1]
        pixels = []
        for file, _ in files:
            with Image.open(file) as image:
                image = image.convert("L" if channels == 1 else "RGB")
                w, h = image.size
                s = min(w, h)
                box = ((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)
                image = image.resize((side, side), Image.Resampling.BILINEAR, box=box)
                pixels.append(torch.from_numpy(np.asarray(image).copy()).view(side, side, channels).permute(2, 0, 1))
        images, labels = torch.stack(pixels), torch.tensor([label for _, label in files])
        test = torch.tensor(is_test(files))
        return images[~test], labels[~test], images[test], labels[test]


DATASET = FolderDataset(
    name="folder",
    title="the image folder",
    shape=(3, 32, 32),
    classes=(),
    folder="data.path",
    n_images=0,
    keys=("path", "size", "channels"),
)
