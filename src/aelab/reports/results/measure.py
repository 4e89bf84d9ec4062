"""What the results table measures, the same way for every method:

* **test sq_err_per_image**: Σ over the 784 pixels of (x̂ − x)², averaged over the MNIST test
  images (pixels in [0, 1]); the published figures are 3.00 (RBM-pretrained deep AE), 8.01
  (logistic PCA) and 13.87 (PCA).
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

from aelab.analysis import PCA, PCAEncoder, fit_pca, linear_probe_accuracy, precision_at_k, transfer_accuracy
from aelab.config import compose, to_dict
from aelab.data.load import load_dataset
from aelab.hardware import describe
from aelab.images import save_reconstruction_grid
from aelab.metrics import evaluate
from aelab.models.base import AEOutput
from aelab.reports.results.methods import AE_METHODS, CODE_DIM, method_overrides
from aelab.runs import load_run

log = logging.getLogger("aelab.results")

# Hinton & Salakhutdinov (2006), MNIST test set, 30-d codes: mean squared error per image.
PUBLISHED: tuple[tuple[str, str, float], ...] = (
    ("deep_ae_published", "Deep AE 784-1000-500-250-30, RBM-pretrained (published)", 3.00),
    ("logistic_pca_published", "Logistic PCA (published)", 8.01),
    ("pca_published", "PCA (published)", 13.87),
)
PCA_PUBLISHED = 13.87
LINEAR_TOLERANCE = 0.02  # a linear AE trained long enough reaches PCA's error within 2%


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


def _n(limit: int | None, available: int) -> int:
    return available if limit is None else min(limit, available)


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


class PCAAutoencoder(nn.Module):
    """PCA as an autoencoder (encode, decode, forward → AEOutput), for the shared evaluation and
    the reconstruction grid. The reconstruction is not clamped (as in the published 13.87)."""

    output_activation = "identity"  # x̂ is the linear reconstruction itself

    def __init__(self, pca: PCA) -> None:
        super().__init__()
        self.pca = pca
        self.encoder = PCAEncoder(pca)

    def forward(self, x: Tensor) -> AEOutput:
        code = self.pca.encode(x)
        recon = self.pca.decode(code).view_as(x)
        return AEOutput(logits=None, recon=recon, code=code)  # type: ignore[arg-type]


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
    n_probe = _n(settings.probe_train, len(data.train_x))
    n_db = _n(settings.database, len(data.pool_x))
    n_probe_test = _n(settings.probe_test, len(data.test_x))
    n_queries = _n(settings.queries, len(data.test_x))
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
    return [("all" if n is None else str(_n(n, n_train)), _n(n, n_train)) for n in settings.transfer_labels]


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
    n_test = _n(settings.transfer_test, len(data.test_x))
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


def _test_error(model: nn.Module, data: EvalData, settings: Settings, label: str) -> dict[str, float]:
    """``evaluate`` on the test images: sq_err_per_image and the kind's own metrics (a VAE's neg_elbo)."""
    n_test = _n(settings.test_images, len(data.test_x))
    with Timer(f"[{label}] reconstruction error on {n_test:,} test images"):
        test = evaluate(model, data.test_x[:n_test])
    log.info("[%s] test sq_err_per_image %.3f", label, test["sq_err_per_image"])
    return test


def _reconstruction(
    model: nn.Module, data: EvalData, settings: Settings, img_dir: Path, method: str, label: str
) -> tuple[dict[str, float], str]:
    test = _test_error(model, data, settings, label)
    grid = save_reconstruction_grid(
        model,
        data.test_x[: settings.grid_images],
        img_dir / f"results_{method}.png",
    )
    return test, grid.name


@torch.no_grad()
def reconstructions(model: nn.Module, images: Tensor) -> Tensor:
    """``model``'s reconstructions of ``images`` in eval mode (a VAE decodes μ), in [0, 1], on the CPU."""
    model.eval()
    return model(images).recon.float().clamp(0, 1).cpu()


def save_image_rows(rows: list[Tensor], path: Path) -> Path:
    """One PNG of image rows (each a batch of the same size): the test digits first, then one row of
    reconstructions per model — :func:`aelab.images.reconstruction_grid`'s layout, with more rows."""
    from torchvision.utils import make_grid, save_image

    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(make_grid(torch.cat([r.float().cpu() for r in rows]), nrow=len(rows[0]), padding=2, pad_value=1.0), path)
    return path


def pca_row(data: EvalData, settings: Settings, img_dir: Path, device: torch.device) -> dict[str, Any]:
    """PCA-30 fitted on all 60,000 training images (train + validation), as in the paper."""
    with Timer(f"[pca] fitting PCA-{CODE_DIM} on {len(data.pool_x):,} training images") as t:
        pca = fit_pca(data.pool_x, CODE_DIM)
    model = PCAAutoencoder(pca)
    test, grid = _reconstruction(model, data, settings, img_dir, "pca", "pca")
    row = make_row(
        "pca",
        f"PCA-{CODE_DIM}",
        "computed",
        CODE_DIM,
        test=test,
        grid=grid,
        wall_time_s=t.seconds,
        hardware=describe(device),
        epochs="closed form",
    )
    row.update(code_metrics(model.encoder, CODE_DIM, data, settings, "pca"))
    return row


def pixels_row(data: EvalData, settings: Settings, device: torch.device) -> dict[str, Any]:
    """P@k with the raw 784 pixels as the code: the reference a code should beat."""
    n_db, n_queries = _n(settings.database, len(data.pool_x)), _n(settings.queries, len(data.test_x))
    with Timer(f"[pixels] P@{settings.k} in pixel space ({n_queries:,} queries, {n_db:,} images)") as t:
        p = precision_at_k(
            data.test_x[:n_queries].flatten(1),
            data.test_y[:n_queries],
            data.pool_x[:n_db].flatten(1),
            data.pool_y[:n_db],
            k=settings.k,
        )
    log.info("[pixels] P@%d %.4f", settings.k, p)
    row = make_row("pixels", "Pixels (no code)", "computed", 784, wall_time_s=t.seconds, hardware=describe(device))
    row[f"p_at_{settings.k}"] = p
    return row


def published_rows() -> list[dict[str, Any]]:
    return [
        make_row(name, label, "published", CODE_DIM, test={"sq_err_per_image": err}) for name, label, err in PUBLISHED
    ]


def make_row(method: str, label: str, source: str, code_dim: int, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "method": method,
        "label": label,
        "source": source,
        "code_dim": code_dim,
        "test": None,
        "linear_probe_acc": None,
        "transfer": None,
        "epochs": None,
        "epochs_planned": None,
        "status": None,
        "wall_time_s": None,
        "hardware": None,
        "run_dir": None,
        "grid": None,
        "error": None,
    }
    row.update(fields)
    return row


def autoencoder_row(
    method: str,
    run_dir: str | Path,
    data: EvalData,
    settings: Settings,
    img_dir: Path,
    device: torch.device,
    source: str = "collected",
    hardware: str | None = None,
) -> dict[str, Any]:
    """Measure a trained run (its best.pt): reconstruction, grid, probe, P@k, transfer."""
    label = AE_METHODS[method].label if method in AE_METHODS else method
    preset = None
    if method in AE_METHODS:
        try:  # the preset's epochs, to show when a run was trained for fewer (or more)
            preset = int(compose(method_overrides(method, quick=False)).trainer.epochs)
        except Exception as err:  # never fatal to collecting a run
            log.warning("[%s] could not compose the preset: %s", method, err)
    row, model = run_row(method, label, run_dir, data, settings, img_dir, device, source, hardware, preset)
    row.update(code_metrics(code_encoder(model), row["code_dim"], data, settings, method))
    return row


def run_row(
    method: str,
    label: str,
    run_dir: str | Path,
    data: EvalData,
    settings: Settings,
    img_dir: Path,
    device: torch.device,
    source: str = "collected",
    hardware: str | None = None,
    epochs_preset: int | None = None,
    grid: bool = True,
) -> tuple[dict[str, Any], nn.Module]:
    """A trained run's row without the code metrics: reconstruction error (with the kind's own test
    metrics, e.g. a VAE's ``neg_elbo``), grid ``results_<method>.png``, epochs, wall time, hardware.
    ``grid=False``: no image (the caller draws the model in a figure of its own). Returns (the row,
    the loaded model)."""
    run_dir = Path(run_dir)
    run = load_run(run_dir, device=device)
    model, config, metrics = run.model, to_dict(run.config), run.metrics
    hardware = hardware or metrics.get("hardware") or "not recorded"
    if method == "linear":
        out_act = config["model"]["output_activation"]
        label += " (linear output)" if out_act == "identity" else " (σ output)"
    status = metrics.get("status", "unknown")
    log.info("[%s] %s run %s: %s, %s epochs", method, source, run_dir, status, metrics.get("epochs_completed"))
    if grid:
        test, grid_name = _reconstruction(model, data, settings, img_dir, method, method)
    else:
        test, grid_name = _test_error(model, data, settings, method), None
    row = make_row(
        method,
        label,
        source,
        int(config["model"]["code_dim"]),
        test=test,
        grid=grid_name,
        epochs=metrics.get("epochs_completed"),
        epochs_planned=config["trainer"]["epochs"],
        status=status,
        wall_time_s=metrics.get("wall_time_s"),
        hardware=hardware,
        run_dir=str(run_dir),
        architecture=model.summary(),
        train_images=len(data.train_x)
        if config["data"].get("limit") is None
        else min(int(config["data"]["limit"]), len(data.train_x)),
    )
    if epochs_preset is not None:
        row["epochs_preset"] = epochs_preset
    return row, model


# --- training ----------------------------------------------------------------------------------


def checks(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The table's sanity checks: PCA against 13.87, the linear AE against PCA (within 2%)."""
    by = {r["method"]: r for r in rows if r.get("test")}
    out: dict[str, Any] = {}
    if "pca" in by:
        err = by["pca"]["test"]["sq_err_per_image"]
        out["pca_vs_published"] = {"ours": err, "published": PCA_PUBLISHED, "diff": err - PCA_PUBLISHED}
    if "pca" in by and "linear" in by:
        ratio = by["linear"]["test"]["sq_err_per_image"] / by["pca"]["test"]["sq_err_per_image"]
        out["linear_vs_pca"] = {"ratio": ratio, "within_2pct": abs(ratio - 1) <= LINEAR_TOLERANCE}
    return out


__all__ = [
    "FULL",
    "LINEAR_TOLERANCE",
    "PCA_PUBLISHED",
    "PUBLISHED",
    "QUICK",
    "Encode",
    "EvalData",
    "PCAAutoencoder",
    "Settings",
    "Timer",
    "autoencoder_row",
    "checks",
    "code_encoder",
    "code_metrics",
    "make_row",
    "pca_row",
    "pixels_row",
    "published_rows",
    "reconstructions",
    "run_row",
    "save_image_rows",
    "scratch_transfer",
    "transfer_metrics",
]
