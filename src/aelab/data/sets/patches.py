"""Patches of the natural photographs bundled with scikit-image (``skimage/data/``): the data of
Olshausen & Field's and Ng's sparse coding and sparse autoencoder exercises.

``data.patch_size`` p: square p×p patches at positions drawn uniformly (seeded by
``data.split_seed``); ``data.grayscale``: grey patches from every photograph below (colour ones
turned to luma), or colour patches from the colour photographs alone; ``data.normalize``: none
(pixels in [0, 1]), standardize or zca (:mod:`aelab.data.whiten`, with the training patches'
statistics). Training, validation and test patches come from different photographs, so no part of
a test photograph is ever trained on: validation and test are each photograph's own scene.

    training    astronaut*, coffee*, motorcycle_left*, grass, gravel, brick     30,000 patches
    validation  chelsea*, coins                                                   5,000 patches
    test        rocket*, camera                                                   5,000 patches
    (* colour; each split's patches are shared equally among its photographs)

No labels: every patch is class 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aelab.data.bundled import bundled_file, package_folder
from aelab.data.dataset import Dataset, ImageFormat, option

SPLITS = {"train": 30_000, "val": 5_000, "test": 5_000}
# (file, SHA-256 as in scikit-image 0.26, colour, split)
PHOTOS = (
    ("astronaut.png", "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5", True, "train"),
    ("coffee.png", "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7", True, "train"),
    ("motorcycle_left.png", "db18e9c4157617403c3537a6ba355dfeafe9a7eabb6b9b94cb33f6525dd49179", True, "train"),
    ("grass.png", "b6b6022426b38936c43a4ac09635cd78af074e90f42ffa8227ac8b7452d39f89", False, "train"),
    ("gravel.png", "c48615b451bf1e606fbd72c0aa9f8cc0f068ab7111ef7d93bb9b0f2586440c12", False, "train"),
    ("brick.png", "7966caf324f6ba843118d98f7a07746d22f6a343430add0233eca5f6eaaa8fcf", False, "train"),
    ("chelsea.png", "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb", True, "val"),
    ("coins.png", "f8d773fc9cfa6f4d8e5942dc34d0a0788fcaed2a4fefbbed0aef5398d7ef4cba", False, "val"),
    ("rocket.jpg", "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c", True, "test"),
    ("camera.png", "b0793d2adda0fa6ae899c03989482bff9a42d3d5690fc7e3648f2795d730c23a", False, "test"),
)


def photos(grey: bool, split: str) -> list[tuple[str, str]]:
    """(file, SHA-256) of the photographs of ``split`` (colour patches: the colour ones alone)."""
    return [(f, sha) for f, sha, colour, s in PHOTOS if s == split and (grey or colour)]


@dataclass(frozen=True)
class PatchesDataset(Dataset):
    def folder_path(self) -> Path:
        return package_folder("skimage", "scikit-image", self.title) / "data"

    def image_format(self, data: Any) -> ImageFormat:
        side, grey = int(self.need(data, "patch_size")), bool(self.need(data, "grayscale"))
        unit = self.need(data, "normalize") == "none"
        return ImageFormat((1 if grey else 3, side, side), (0.0, 1.0) if unit else None)

    def check(self, root: Path, download: bool, data: Any = None) -> tuple[int, int]:
        folder, grey = self.folder_path(), bool(self.need(data, "grayscale"))
        self.image_format(data)  # the keys are set
        for split in SPLITS:
            for name, sha in photos(grey, split):
                bundled_file(folder, name, sha, "scikit-image")
        return SPLITS["train"] + SPLITS["val"], SPLITS["test"]

    def load(self, root: Path, data: Any = None) -> tuple[Any, Any, Any, Any]:
        import torch

        from aelab.data.whiten import normalise

        fmt = self.image_format(data)
        generator = torch.Generator().manual_seed(int(option(data, "split_seed", 0)))
        parts = {s: self.sample(fmt.shape, s, n, generator) for s, n in SPLITS.items()}
        order = torch.randperm(SPLITS["train"], generator=generator)  # data.limit takes every photograph
        train, val, test = normalise(
            str(self.need(data, "normalize")), parts["train"][order], parts["val"], parts["test"]
        )
        pool = torch.cat([train, val])  # validation last: this row's val_last
        return pool, torch.zeros(len(pool), dtype=torch.long), test, torch.zeros(len(test), dtype=torch.long)

    def sample(self, shape: tuple[int, int, int], split: str, n: int, generator: Any) -> Any:
        """``n`` patches of ``shape`` from the photographs of ``split``, in [0, 1]."""
        import io

        import numpy as np
        import torch
        from PIL import Image

        channels, side, _ = shape
        chosen = photos(channels == 1, split)
        out = []
        for i, (name, sha) in enumerate(chosen):
            raw = bundled_file(self.folder_path(), name, sha, "scikit-image")
            image = Image.open(io.BytesIO(raw)).convert("L" if channels == 1 else "RGB")
            pixels = torch.from_numpy(np.asarray(image).copy()).float().div_(255)
            pixels = pixels.view(*pixels.shape[:2], channels).permute(2, 0, 1)  # C, H, W
            count = n // len(chosen) + (i < n % len(chosen))
            rows = torch.randint(0, pixels.shape[1] - side + 1, (count,), generator=generator)
            cols = torch.randint(0, pixels.shape[2] - side + 1, (count,), generator=generator)
            out += [pixels[:, r : r + side, c : c + side] for r, c in zip(rows.tolist(), cols.tolist())]
        return torch.stack(out)


DATASET = PatchesDataset(
    name="patches",
    title="natural-image patches (scikit-image's photographs)",
    shape=(1, 8, 8),
    classes=(),
    folder="scikit-image's skimage/data",
    n_images=sum(SPLITS.values()),
    keys=("patch_size", "grayscale", "normalize"),
    val_images=SPLITS["val"],
    val_last=True,
)
