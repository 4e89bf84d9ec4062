"""aelab: an autoencoder lab whose backpropagation is written by hand.

The Python API, for notebooks and scripts (the same code the CLI runs)::

    import aelab

    cfg = aelab.compose(["activation=relu", "depth=8", "trainer.epochs=1"])   # as aelab-train would
    metrics = aelab.train(cfg, run_dir="outputs/runs/notebook")
    run = aelab.load_run("outputs/runs/notebook")      # run.model, run.config, run.metrics

Imports are lazy: ``import aelab`` is instant; torch and Hydra load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_API = {
    "compose": "aelab.config",
    "Config": "aelab.config",
    "train": "aelab.training.loop",
    "load_run": "aelab.runs",
    "Run": "aelab.runs",
    "AelabError": "aelab.errors",
}


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'aelab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])


__all__ = ["AelabError", "Config", "Run", "compose", "load_run", "train"]
