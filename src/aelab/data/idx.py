"""The IDX format (MNIST and the datasets that share it): checking the files before anything trains
on them, and the :class:`IdxDataset` rows that read them with their torchvision class.

An IDX file is a 4-byte magic number — two zero bytes, the element type (``0x08``: unsigned
byte), the number of dimensions — then each dimension as a big-endian int32, then the values.
Images are ``0x00000803`` (N × rows × cols), labels ``0x00000801`` (N). A file is accepted when
its header, its size and, where the dataset publishes one, its SHA-256 are right; each failure is
one :class:`DataError` naming the file and what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aelab.data.dataset import Dataset, offline
from aelab.data.fetch import check_digest, read, unpack_beside
from aelab.data.fetch import download as download_files
from aelab.errors import DataError

IMAGE_MAGIC, LABEL_MAGIC = 0x00000803, 0x00000801
RAW_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _expected_magic(name: str) -> int:
    return IMAGE_MAGIC if "images" in name else LABEL_MAGIC


def check_idx(path: Path, sha256: str | None, count: int | None = None, side: tuple[int, int] | None = None) -> int:
    """Check one raw IDX file (images of ``side`` = (rows, cols)); return its number of items."""
    data = read(path)
    want = _expected_magic(path.name)
    kind = "image" if want == IMAGE_MAGIC else "label"
    if len(data) < 8:
        raise DataError(f"{path} is not an IDX {kind} file: only {len(data)} bytes")
    magic = int.from_bytes(data[:4], "big")
    if magic != want:
        raise DataError(f"{path} is not an IDX {kind} file: magic number 0x{magic:08x}, expected 0x{want:08x}")
    ndim = want & 0xFF
    if len(data) < 4 + 4 * ndim:
        raise DataError(f"{path} is truncated: {len(data)} bytes, shorter than its header")
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    if kind == "image" and side is not None and tuple(dims[1:]) != tuple(side):
        raise DataError(f"{path} holds {dims[1]}×{dims[2]} images; this dataset's are {side[0]}×{side[1]}")
    if count is not None and dims[0] != count:
        raise DataError(f"{path} holds {dims[0]:,} {kind}s; this dataset has {count:,}")
    n_values = 1
    for d in dims:
        n_values *= d
    expected = 4 + 4 * ndim + n_values  # header, then one byte per value
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "longer than its header says"
        raise DataError(
            f"{path} is {what}: {len(data):,} bytes, its header ({' × '.join(map(str, dims))} "
            f"{kind}s) needs {expected:,}"
        )
    check_digest(path, data, sha256=sha256, why="size and header are right, so bytes were changed")
    return dims[0]


@dataclass(frozen=True)
class IdxDataset(Dataset):
    """A dataset in the four IDX files of MNIST's layout, read by ``torchvision.datasets.<tv_class>``
    from ``<data.root>/<tv_class>/raw/``. ``sha256``: each raw file's published SHA-256 (None:
    its IDX header and size are checked); ``sizes``: the exact (train, test) counts, when fixed."""

    tv_class: str = ""
    sha256: dict[str, str | None] = field(default_factory=lambda: dict.fromkeys(RAW_FILES))
    sizes: tuple[int, int] | None = None

    def raw(self, root: Path) -> Path:
        return Path(root).expanduser() / self.tv_class / "raw"

    def files(self, data: Any) -> dict[str, str | None]:
        """The raw files (train images, train labels, test images, test labels) → published SHA-256."""
        return self.sha256

    def check(self, root: Path, download: bool, data: Any = None) -> tuple[int, int]:
        raw, files = self.raw(root), self.files(data)
        missing = unpack_beside(raw, [f for f in files if not (raw / f).is_file()], also=("gzip",))
        if missing:
            where = f"{self.title} is not in {raw} (missing {', '.join(missing)})"
            if offline() or not download:
                raise self.missing_advice(where, download)
            root = Path(root).expanduser()
            holds = f"{self.tv_class}/raw"
            download_files([root, root / self.tv_class, raw], lambda: self.fetch(root, data), where, holds)
        names = list(files)
        counts = [
            check_idx(raw / file, files[file], self.sizes[i // 2] if self.sizes else None, self.shape[1:])
            for i, file in enumerate(names)
        ]
        short = [n.rsplit("-idx", 1)[0] for n in names]  # train-images, t10k-labels, ...
        for i in (0, 2):
            if counts[i] != counts[i + 1]:
                raise DataError(
                    f"{raw}: {short[i]} holds {counts[i]:,} images but {short[i + 1]} {counts[i + 1]:,} labels"
                )
        return counts[0], counts[2]

    def fetch(self, root: Path, data: Any) -> None:
        """torchvision's download of both splits into ``root``."""
        from torchvision import datasets

        cls = getattr(datasets, self.tv_class)
        cls(str(root), train=True, download=True)
        cls(str(root), train=False, download=True)

    def load(self, root: Path, data: Any = None) -> tuple[Any, Any, Any, Any]:
        """The four files as tensors (checked by :meth:`check` first): each file is its header and
        its values, one byte each, so the values are a view of the file's bytes."""
        raw = self.raw(root)
        train_x, train_y, test_x, test_y = (read_idx(raw / name) for name in RAW_FILES)
        return train_x, train_y, test_x, test_y


def read_idx(path: Path) -> Any:
    """An IDX file's values as a tensor: images (N, 1, rows, cols) uint8, labels (N,) int64."""
    import torch

    data = bytearray(path.read_bytes())
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    values = torch.frombuffer(data, dtype=torch.uint8, offset=4 + 4 * ndim)
    return values.view(dims[0], 1, *dims[1:]) if ndim == 3 else values.long()


__all__ = ["IMAGE_MAGIC", "LABEL_MAGIC", "RAW_FILES", "IdxDataset", "check_idx"]
