"""Shared test fixtures: MNIST from AELAB_DATA_DIR, never the network."""

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

MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    """The folder holding MNIST/raw; skip without it, but fail under CI=true."""
    root = os.environ.get("AELAB_DATA_DIR")
    missing = (
        "AELAB_DATA_DIR is not set"
        if not root
        else next(
            (f"{root}/MNIST/raw/{f} is missing" for f in MNIST_FILES
             if not (Path(root) / "MNIST" / "raw" / f).exists()),
            None,
        )
    )
    if missing:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"MNIST is required under CI: {missing}")
        pytest.skip(f"MNIST not available: {missing} (point AELAB_DATA_DIR at the folder holding MNIST/raw)")
    return Path(root)


REPO = Path(__file__).resolve().parents[1]
CONF_DIR = REPO / "conf"
TINY = [
    "data.limit=512",
    "data.eval_limit=256",
    "trainer.epochs=1",
    "trainer.batch_size=64",
    "model.width=32",
    "model.channels=4",
    "depth=2",
    "device=cpu",
    "logging.tensorboard=false",
    "trainer.progress=false",
]


def compose(overrides: list[str] | None = None):
    """The config exactly as `python scripts/train.py <overrides>` would build it."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from aelab.config import register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return hydra_compose(config_name="config", overrides=overrides or [])


@pytest.fixture
def tiny_cfg(mnist_root):
    """A seconds-long training config on real MNIST: tiny_cfg(*extra_overrides)."""

    def make(*extra: str):
        return compose([*TINY, f"data.root={mnist_root}", *extra])

    return make
