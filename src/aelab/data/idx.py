"""Checks of IDX files (the MNIST format) before anything trains on them.

An IDX file is a 4-byte magic number — two zero bytes, the element type (``0x08``: unsigned
byte), the number of dimensions — then each dimension as a big-endian int32, then the values.
Images are ``0x00000803`` (N × rows × cols), labels ``0x00000801`` (N). A file is accepted when
its header, its size and, where the dataset publishes one, its SHA-256 are right; each failure is
one :class:`DataError` naming the file and what is wrong.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from aelab.errors import DataError

IMAGE_MAGIC, LABEL_MAGIC = 0x00000803, 0x00000801
IMAGE_SIDE = 28


def _expected_magic(name: str) -> int:
    return IMAGE_MAGIC if "images" in name else LABEL_MAGIC


def check_idx(path: Path, sha256: str | None, count: int | None = None) -> int:
    """Check one raw IDX file; return its number of items (images or labels)."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DataError(f"{path} cannot be read: {err.strerror or err}") from None
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
    if kind == "image" and dims[1:] != [IMAGE_SIDE, IMAGE_SIDE]:
        raise DataError(f"{path} holds {dims[1]}×{dims[2]} images; aelab's models take {IMAGE_SIDE}×{IMAGE_SIDE}")
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
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise DataError(
            f"{path} is corrupt: its SHA-256 differs from the published one (size and header "
            "are right, so bytes were changed); replace the file"
        )
    return dims[0]


__all__ = ["IMAGE_MAGIC", "LABEL_MAGIC", "check_idx"]
