"""data: a damaged copy of MNIST is refused in one line naming the file and what is wrong."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from .checks import empty, expect_refused, flip_bytes, need, set_magic, truncate
from .harness import MNIST_FILES, QUICK_TIMEOUT, TINY, Case

CATEGORY = "data"
pytestmark = pytest.mark.faults
QUICK, EXTENDED = pytest.mark.faults_quick, pytest.mark.faults_extended

WHAT_WRONG: dict[str, tuple[str, ...]] = {
    "bytes": (
        "checksum",
        "hash",
        "sha",
        "md5",
        "corrupt",
        "mismatch",
        "does not match",
        "modified",
        "damaged",
        "integrity",
    ),
    "truncated": ("truncat", "size", "short", "bytes", "expected", "incomplete", "corrupt", "length", "empty"),
    "magic": ("magic",),
    "missing": ("missing", "not found", "no such", "does not exist"),
}
DOWNLOAD_CLAIM = re.compile(r"download(ing)?\s+failed|failed\s+to\s+download|could\s+not\s+download", re.I)


def mnist_copy(c: Case) -> Path:
    """Copy MNIST/raw into the case (writable); return the data.root to pass."""
    raw = c.work / "x" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    src = c.ctx.data_dir / "MNIST" / "raw"
    for name in MNIST_FILES:
        if not (src / name).exists():
            pytest.skip(f"{src / name} not found")
        shutil.copyfile(src / name, raw / name)
        os.chmod(raw / name, 0o644)
    return c.work / "x"


@pytest.mark.parametrize(
    "file, how, kind",
    [
        pytest.param("train-images-idx3-ubyte", "flip", "bytes", id="train_images_random_bytes", marks=QUICK),
        pytest.param("train-images-idx3-ubyte", "truncate", "truncated", id="train_images_truncated"),
        pytest.param("train-labels-idx1-ubyte", "magic", "magic", id="train_labels_bad_magic"),
        pytest.param("t10k-images-idx3-ubyte", "magic", "magic", id="test_images_bad_magic"),
        pytest.param("t10k-labels-idx1-ubyte", "truncate", "truncated", id="test_labels_truncated", marks=EXTENDED),
        pytest.param("train-labels-idx1-ubyte", "empty", "truncated", id="train_labels_empty"),
        pytest.param("t10k-images-idx3-ubyte", "delete", "missing", id="test_images_missing"),
    ],
)
def test_bad_mnist(case: Case, file: str, how: str, kind: str) -> None:
    """An MNIST copy with one file damaged: training refuses with one line naming the file and what
    is wrong (never 'download failed'), and creates no run dir."""
    root = mnist_copy(case)
    path = root / "MNIST" / "raw" / file
    if how == "flip":
        flip_bytes(path, case.rng, 100)
    elif how == "truncate":
        truncate(path, 0.6)
    elif how == "empty":
        empty(path)
    elif how == "magic":
        set_magic(path)
    elif how == "delete":
        path.unlink()
    before = case.snap()
    res = case.train(TINY, case.work / "run", f"data.root={root}", timeout=QUICK_TIMEOUT + 60)
    need(not DOWNLOAD_CLAIM.search(res.output), "says the download failed although nothing was downloaded")
    case.held(expect_refused(res, before, case.snap(), [file, WHAT_WRONG[kind]]))
