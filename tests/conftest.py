"""Shared test fixtures: the config exactly as the CLI builds it, and MNIST where training finds it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# OpenMP threads sleep instead of spinning while they wait: on a 2-core machine shared by
# subprocesses (sweeps, CLI tests) spinning threads slowed tests down by up to 10x here.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# No test may reach the network: the data loader refuses to download under AELAB_OFFLINE=1.
os.environ["AELAB_OFFLINE"] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")

REPO = Path(__file__).resolve().parents[1]
CONF_DIR = REPO / "conf"
TINY = [
    "data.limit=512",
    "data.eval_limit=256",
    "trainer.epochs=1",
    "trainer.batch_size=64",
    "depth=2",
    "device=cpu",
    "logging=off",
    "trainer.progress=false",
]


def compose(overrides: list[str] | None = None):
    """The config exactly as `aelab-train <overrides>` would build it (aelab.compose)."""
    from aelab.config import compose as aelab_compose

    return aelab_compose(overrides or [])


def data_root() -> tuple[Path | None, str]:
    """Where training would read MNIST — data.root's default: $AELAB_DATA_DIR, else ./data (relative
    to where the tests run and to the repo) — and why not, if it is not there."""
    from aelab.data import DATASETS

    env = os.environ.get("AELAB_DATA_DIR")
    candidates = [Path(env)] if env else [Path("data"), REPO / "data"]
    problems = []
    for root in candidates:
        raw = root / DATASETS["mnist"].folder
        missing = [f for f in DATASETS["mnist"].sha256 if not (raw / f).exists()]
        if not missing:
            return root.resolve(), ""
        problems.append(f"{raw} lacks {', '.join(missing)}")
    return None, "; ".join(problems)


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    """The folder holding MNIST/raw, where training finds it; skip without it, but fail under CI=true."""
    root, why = data_root()
    if root is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"MNIST is required under CI: {why}")
        pytest.skip(
            f"MNIST not available ({why}): set AELAB_DATA_DIR to the folder holding MNIST/raw, "
            "or let a first training download it into ./data"
        )
    return root


@pytest.fixture
def tiny_cfg(mnist_root):
    """A seconds-long training config on real MNIST: tiny_cfg(*extra_overrides)."""

    def make(*extra: str):
        size = "model.channels=4" if "model=conv" in extra else "model.width=32"  # each family's own key
        return compose([*TINY, size, f"data.root={mnist_root}", *extra])

    return make
