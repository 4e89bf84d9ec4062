"""aelab: an autoencoder lab whose backpropagation is written by hand.

The Python API, for notebooks and scripts (the same code the CLI runs)::

    import aelab

    cfg = aelab.compose(["activation=relu", "depth=8", "trainer.epochs=1"])   # as aelab-train would
    metrics = aelab.train(cfg, run_dir="outputs/runs/notebook")
    run = aelab.load_run("outputs/runs/notebook")      # run.model, run.config, run.metrics

    data = aelab.load_dataset("mnist", cfg.data.root, limit=1000)            # train/val/test tensors
    model = aelab.build_model("mlp", activation="sigmoid", depth=8)          # a fresh network
    norms = aelab.layer_grad_norms(model, data.val_x[:256], loss_fn)         # ‖∂E/∂W‖ per layer
    pca = aelab.fit_pca(data.train_x, 30)                                    # the linear baseline
    p10 = aelab.precision_at_k(codes, labels, codes, labels, k=10, exclude_self=True)

The lecture's layers, activations and losses are :mod:`aelab.backprop`.

Imports are lazy: ``import aelab`` is instant; torch and Hydra load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_API = {  # in the order the API reference lists them
    "compose": "aelab.config",
    "train": "aelab.training.loop",
    "load_run": "aelab.runs",
    "Run": "aelab.runs",
    "Config": "aelab.config",
    "AelabError": "aelab.errors",
    "load_dataset": "aelab.data.load",
    "Splits": "aelab.data.load",
    "build_model": "aelab.build",
    "layer_grad_norms": "aelab.gradflow",
    "fit_pca": "aelab.analysis.pca",
    "precision_at_k": "aelab.analysis.retrieval",
}


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'aelab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])


__all__ = [
    "AelabError",
    "Config",
    "Run",
    "Splits",
    "build_model",
    "compose",
    "fit_pca",
    "layer_grad_norms",
    "load_dataset",
    "load_run",
    "precision_at_k",
    "train",
]
