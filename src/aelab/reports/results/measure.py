"""What the results table measures, the same way for every method:

* **test sq_err_per_image** (:mod:`.rows`): Σ over the 784 pixels of (x̂ − x)², averaged over the
  MNIST test images (pixels in [0, 1]); the published figures are 3.00 (RBM-pretrained deep AE),
  8.01 (logistic PCA) and 13.87 (PCA).
* **linear probe**: the codes of the 55,000 training images → a logistic regression → test accuracy.
* **P@10**: for each test image, the fraction of its 10 nearest training codes (of the 60,000
  training images, Euclidean) with its label; also in pixel space ("pixels").
* **transfer**: test accuracy of the frozen encoder + a linear head trained on n labelled images,
  and of the same classifier (encoder architecture + head) trained from scratch on them. The
  scratch baseline depends on the architecture only: the kinds table computes it once per network
  (:func:`scratch_transfer`) and passes it to every kind's row.

The code of an autoencoder is ``model.encode(x)`` (:func:`code_encoder`): a VAE's μ, not the
(μ, log σ²) its encoder's last layer outputs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from aelab.analysis import linear_probe_accuracy, precision_at_k, transfer_accuracy
from aelab.data.load import load_dataset

log = logging.getLogger("aelab.results")


@dataclass(frozen=True)
class Settings:
    """How much of MNIST each measurement uses; ``None`` means all of it."""

    quick: bool = False
    test_images: int | None = None  # test images for sq_err_per_image (all 10,000)
    probe_train: int | None = None  # training codes for the linear probe (all 55,000)
    probe_test: int | None = None  # test codes it is scored on
    probe_max_iter: int = 500  # L-BFGS iterations of the probe
    queries: int | None = None  # test queries for P@k
    database: int | None = None  # training images searched (all 60,000 = train + val)
    k: int = 10
    transfer_labels: tuple[int | None, ...] = (100, 1000, None)  # None: every training label
    transfer_epochs: int = 20
    transfer_min_steps: int = 1000
    transfer_scratch_min_steps: int | None = None  # the from-scratch budget if not the same (quick)
    transfer_test: int | None = None
    grid_images: int = 16


FULL = Settings()
# quick: the frozen heads keep their (cheap) budget; the from-scratch encoders get 100 steps.
QUICK = Settings(
    quick=True,
    probe_train=5000,
    probe_test=2000,
    probe_max_iter=100,
    queries=1000,
    database=10000,
    transfer_labels=(100, 1000),
    transfer_epochs=5,
    transfer_scratch_min_steps=100,
    transfer_test=1000,
)


@dataclass
class EvalData:
    """MNIST for the measurements: the 55,000 training images, then the 5,000 validation images
    (``pool``: all 60,000 training images, train first), and the 10,000 test images."""

    train_x: Tensor
    train_y: Tensor
    pool_x: Tensor
    pool_y: Tensor
    test_x: Tensor
    test_y: Tensor

    @classmethod
    def load(cls, root: str | Path, device: torch.device | str = "cpu", split_seed: int = 0) -> EvalData:
        d = load_dataset("mnist", root, download=False, split_seed=split_seed, device=device)
        return cls(
            d.train_x, d.train_y, torch.cat([d.train_x, d.val_x]), torch.cat([d.train_y, d.val_y]), d.test_x, d.test_y
        )


def limit(most: int | None, available: int) -> int:
    """How many of ``available`` a measurement uses: ``most`` (``None``: all of them)."""
    return available if most is None else min(most, available)


@torch.no_grad()
def encode_all(encode: Callable[[Tensor], Tensor], x: Tensor, batch_size: int = 2000) -> Tensor:
    return torch.cat([encode(x[i : i + batch_size]).flatten(1).float() for i in range(0, len(x), batch_size)])


class Timer:
    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> Timer:
        log.info("%s ...", self.what)
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
        if exc[0] is None:
            log.info("%s: done in %.1f s", self.what, self.seconds)


class Encode(nn.Module):
    """images → ``model.encode(images)``, as a module (what the probe, P@k and transfer take)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> Tensor:
        return self.model.encode(x)  # type: ignore[operator]


def code_encoder(model: nn.Module) -> nn.Module:
    """The module that maps images to ``model``'s code, ``model.encode``: its encoder itself when that
    outputs the code (one code head), else :class:`Encode` (a VAE: μ of the encoder's (μ, log σ²))."""
    encoder = getattr(model, "encoder", None)
    if isinstance(encoder, nn.Module) and getattr(model, "code_heads", 1) == 1:
        return encoder
    return Encode(model)


def code_metrics(
    encoder: nn.Module,
    code_dim: int,
    data: EvalData,
    settings: Settings,
    label: str = "",
    scratch: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Linear probe, P@k and transfer of one encoder (images → codes), as ``settings`` say;
    ``scratch``: the from-scratch transfer accuracies already measured for this architecture."""
    encoder.eval()
    n_probe = limit(settings.probe_train, len(data.train_x))
    n_db = limit(settings.database, len(data.pool_x))
    n_probe_test = limit(settings.probe_test, len(data.test_x))
    n_queries = limit(settings.queries, len(data.test_x))
    with Timer(f"[{label}] codes of {max(n_probe, n_db):,} training and {max(n_probe_test, n_queries):,} test images"):
        pool_codes = encode_all(encoder, data.pool_x[: max(n_probe, n_db)])  # the first 55,000 are train
        test_codes = encode_all(encoder, data.test_x[: max(n_probe_test, n_queries)])
    out: dict[str, Any] = {}
    with Timer(f"[{label}] linear probe ({n_probe:,} train codes → {n_probe_test:,} test)"):
        out["linear_probe_acc"] = linear_probe_accuracy(
            pool_codes[:n_probe],
            data.pool_y[:n_probe],
            test_codes[:n_probe_test],
            data.test_y[:n_probe_test],
            max_iter=settings.probe_max_iter,
        )
    log.info("[%s] linear probe accuracy %.4f", label, out["linear_probe_acc"])
    with Timer(f"[{label}] P@{settings.k} ({n_queries:,} test queries, {n_db:,} training codes)"):
        out[f"p_at_{settings.k}"] = precision_at_k(
            test_codes[:n_queries], data.test_y[:n_queries], pool_codes[:n_db], data.pool_y[:n_db], k=settings.k
        )
    log.info("[%s] P@%d %.4f", label, settings.k, out[f"p_at_{settings.k}"])
    out["transfer"] = transfer_metrics(encoder, code_dim, data, settings, label, scratch)
    return out


def _label_keys(settings: Settings, n_train: int) -> list[tuple[str, int]]:
    """``[("100", 100), ("1000", 1000), ("all", 55000)]``: each transfer key and its label count."""
    return [("all" if n is None else str(limit(n, n_train)), limit(n, n_train)) for n in settings.transfer_labels]


def scratch_transfer(
    encoder: nn.Module, code_dim: int, data: EvalData, settings: Settings, label: str = ""
) -> dict[str, float]:
    """``{"100": acc, ..., "all": acc}``: the encoder's architecture freshly initialised and trained
    with the head (its weights are not used), to reuse for every encoder of that architecture."""
    return {
        key: accs["scratch"]
        for key, accs in transfer_metrics(encoder, code_dim, data, settings, label, modes=("scratch",)).items()
    }


def transfer_metrics(
    encoder: nn.Module,
    code_dim: int,
    data: EvalData,
    settings: Settings,
    label: str = "",
    scratch: dict[str, float] | None = None,
    modes: tuple[str, ...] = ("frozen", "scratch"),
) -> dict[str, dict[str, float]]:
    """``{"100": {"frozen": acc, "scratch": acc}, ..., "all": ...}`` (keys: labels used); the scratch
    accuracies are taken from ``scratch`` where it is given (measured once per architecture)."""
    n_test = limit(settings.transfer_test, len(data.test_x))
    out: dict[str, dict[str, float]] = {}
    for key, n in _label_keys(settings, len(data.train_x)):
        out[key] = {}
        for mode in modes:
            if mode == "scratch" and scratch is not None:
                out[key][mode] = scratch[key]
                continue
            min_steps = settings.transfer_min_steps
            if mode == "scratch" and settings.transfer_scratch_min_steps is not None:
                min_steps = settings.transfer_scratch_min_steps
            with Timer(f"[{label}] transfer, {n:,} labels, {mode}"):
                out[key][mode] = transfer_accuracy(
                    encoder,
                    code_dim,
                    data.train_x,
                    data.train_y,
                    data.test_x[:n_test],
                    data.test_y[:n_test],
                    n,
                    frozen=mode == "frozen",
                    epochs=settings.transfer_epochs,
                    min_steps=min_steps,
                )
        log.info(
            "[%s] transfer %s labels: %s",
            label,
            key,
            " / ".join(f"{mode} {acc:.4f}" for mode, acc in out[key].items()),
        )
    return out


__all__ = [
    "FULL",
    "QUICK",
    "Encode",
    "EvalData",
    "Settings",
    "Timer",
    "code_encoder",
    "code_metrics",
    "encode_all",
    "limit",
    "scratch_transfer",
    "transfer_metrics",
]
