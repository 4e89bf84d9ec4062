"""The Results table: 30-d codes of MNIST from PCA, a linear autoencoder, the hinton2006 MLP and the
conv autoencoder, side by side with Hinton & Salakhutdinov (Science 2006).

Every method is measured here, on the same data, the same way:

* **test sq_err_per_image**: Σ over the 784 pixels of (x̂ − x)², averaged over the MNIST test
  images (pixels in [0, 1]); the published figures are 3.00 (RBM-pretrained deep AE), 8.01
  (logistic PCA) and 13.87 (PCA).
* **linear probe**: the codes of the 55,000 training images → a logistic regression → test accuracy.
* **P@10**: for each test image, the fraction of its 10 nearest training codes (of the 60,000
  training images, Euclidean) with its label; also in pixel space ("pixels").
* **transfer**: test accuracy of the frozen encoder + a linear head trained on n labelled images,
  and of the same classifier (encoder architecture + head) trained from scratch on them.

Autoencoders are either trained here with :func:`aelab.train.train` (into ``<train_root>/<method>``;
a completed run with the same config is reused) or collected from finished runs (``runs=``), e.g.
long GPU trainings. :func:`run_results` writes ``RESULTS.md``, ``results.json`` and
``img/results_<method>.png`` (the same first 16 test digits for every method).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import logging
import math
import os
import platform
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from aelab.analysis import PCA, PCAEncoder, fit_pca, linear_probe_accuracy, precision_at_k, transfer_accuracy
from aelab.models import AEOutput

log = logging.getLogger("aelab.results")

CODE_DIM = 30

# Hinton & Salakhutdinov (2006), MNIST test set, 30-d codes: mean squared error per image.
PUBLISHED: tuple[tuple[str, str, float], ...] = (
    ("deep_ae_published", "Deep AE 784-1000-500-250-30, RBM-pretrained (published)", 3.00),
    ("logistic_pca_published", "Logistic PCA (published)", 8.01),
    ("pca_published", "PCA (published)", 13.87),
)
PCA_PUBLISHED = 13.87
LINEAR_TOLERANCE = 0.02  # a linear AE trained long enough reaches PCA's error within 2%


@dataclass(frozen=True)
class Method:
    """An autoencoder of the table: its Hydra overrides (as on the train.py command line)."""

    name: str
    label: str
    overrides: tuple[str, ...]  # full mode
    quick_overrides: tuple[str, ...] = ()  # on top of QUICK_TRAIN in quick mode


# The linear AE: one identity layer each side and a linear output, x̂ = W₂(W₁x + b₁) + b₂.
LINEAR_OVERRIDES = (
    "activation=identity", "depth=1", f"model.code_dim={CODE_DIM}", "model.output_activation=identity", "loss=mse",
    "optimizer.lr=2e-3", "optimizer.schedule=cosine", "trainer.epochs=15",
)
AE_METHODS: dict[str, Method] = {
    "linear": Method("linear", "Linear AE 784-30-784", LINEAR_OVERRIDES),
    "hinton2006": Method("hinton2006", "MLP AE 784-1000-500-250-30 (hinton2006)", ("experiment=hinton2006",)),
    # quick: a quarter of the channels (the lecture's unfolded convolutions are slow on a CPU)
    "conv": Method("conv", "Conv AE (hinton2006_conv)", ("experiment=hinton2006_conv",),
                   ("model.channels=8",)),
}
METHODS = ("pca", *AE_METHODS, "pixels")  # table order; "pixels" is the P@10 reference
ALWAYS = ("logging=off",)  # overrides for every AE trained here
QUICK_TRAIN = ("data.limit=5000", "data.eval_limit=500", "trainer.epochs=2")


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
QUICK = Settings(quick=True, probe_train=5000, probe_test=2000, probe_max_iter=100, queries=1000, database=10000,
                 transfer_labels=(100, 1000), transfer_epochs=5, transfer_scratch_min_steps=100,
                 transfer_test=1000)


# --- hardware ----------------------------------------------------------------------------------


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo (else what platform knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name") and ":" in line:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def n_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def describe_device(device: torch.device | str) -> str:
    """``NVIDIA H100 80GB HBM3`` for a GPU, ``AMD EPYC (2 cores)`` for this CPU."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{cpu_name()} ({n_cpus()} cores)"


def run_hardware(run_dir: Path, metrics: dict[str, Any] | None) -> tuple[str, bool]:
    """(hardware, recorded) of a run trained elsewhere: ``metrics["hardware"]`` when the run
    recorded it, else the device from its train.log (a CPU is assumed to be this host's)."""
    if metrics and metrics.get("hardware"):
        return str(metrics["hardware"]), True
    device = None
    log_path = Path(run_dir) / "train.log"
    if log_path.exists():
        found = re.findall(r"\| device: (\w+)", log_path.read_text(errors="replace"))
        device = found[-1] if found else None
    if device is None:
        device = str(((metrics or {}).get("hparams") or {}).get("device") or "unknown")
    if device == "cpu":
        return describe_device("cpu"), False
    return ("GPU (CUDA; model not recorded)" if device == "cuda" else device), False


# --- data --------------------------------------------------------------------------------------


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
    def load(cls, root: str | Path, device: torch.device | str = "cpu", split_seed: int = 0) -> "EvalData":
        from aelab.data import load_dataset

        d = load_dataset("mnist", root, download=False, split_seed=split_seed, device=device)
        return cls(d.train_x, d.train_y, torch.cat([d.train_x, d.val_x]), torch.cat([d.train_y, d.val_y]),
                   d.test_x, d.test_y)


def _n(limit: int | None, available: int) -> int:
    return available if limit is None else min(limit, available)


@torch.no_grad()
def encode_all(encode: Callable[[Tensor], Tensor], x: Tensor, batch_size: int = 2000) -> Tensor:
    return torch.cat([encode(x[i : i + batch_size]).flatten(1).float() for i in range(0, len(x), batch_size)])


class _Timer:
    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> "_Timer":
        log.info("%s ...", self.what)
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
        if exc[0] is None:
            log.info("%s: done in %.1f s", self.what, self.seconds)


# --- measurements ------------------------------------------------------------------------------


class PCAAutoencoder(nn.Module):
    """PCA as an autoencoder (encode, decode, forward → AEOutput), for the shared evaluation and
    the reconstruction grid. The reconstruction is not clamped (as in the published 13.87)."""

    def __init__(self, pca: PCA) -> None:
        super().__init__()
        self.pca = pca
        self.encoder = PCAEncoder(pca)

    def forward(self, x: Tensor) -> AEOutput:
        code = self.pca.encode(x)
        recon = self.pca.decode(code).view_as(x)
        return AEOutput(logits=None, recon=recon, code=code)  # type: ignore[arg-type]


def code_metrics(encoder: nn.Module, code_dim: int, data: EvalData, settings: Settings,
                 label: str = "") -> dict[str, Any]:
    """Linear probe, P@k and transfer of one encoder (images → codes), as ``settings`` say."""
    encoder.eval()
    n_probe = _n(settings.probe_train, len(data.train_x))
    n_db = _n(settings.database, len(data.pool_x))
    n_probe_test = _n(settings.probe_test, len(data.test_x))
    n_queries = _n(settings.queries, len(data.test_x))
    with _Timer(f"[{label}] codes of {max(n_probe, n_db):,} training and {max(n_probe_test, n_queries):,} test images"):
        pool_codes = encode_all(encoder, data.pool_x[: max(n_probe, n_db)])  # the first 55,000 are train
        test_codes = encode_all(encoder, data.test_x[: max(n_probe_test, n_queries)])
    out: dict[str, Any] = {}
    with _Timer(f"[{label}] linear probe ({n_probe:,} train codes → {n_probe_test:,} test)"):
        out["linear_probe_acc"] = linear_probe_accuracy(pool_codes[:n_probe], data.pool_y[:n_probe],
                                                        test_codes[:n_probe_test], data.test_y[:n_probe_test],
                                                        max_iter=settings.probe_max_iter)
    log.info("[%s] linear probe accuracy %.4f", label, out["linear_probe_acc"])
    with _Timer(f"[{label}] P@{settings.k} ({n_queries:,} test queries, {n_db:,} training codes)"):
        out[f"p_at_{settings.k}"] = precision_at_k(test_codes[:n_queries], data.test_y[:n_queries],
                                                   pool_codes[:n_db], data.pool_y[:n_db], k=settings.k)
    log.info("[%s] P@%d %.4f", label, settings.k, out[f"p_at_{settings.k}"])
    out["transfer"] = transfer_metrics(encoder, code_dim, data, settings, label)
    return out


def transfer_metrics(encoder: nn.Module, code_dim: int, data: EvalData, settings: Settings,
                     label: str = "") -> dict[str, dict[str, float]]:
    """``{"100": {"frozen": acc, "scratch": acc}, ..., "all": ...}`` (keys: labels used)."""
    n_test = _n(settings.transfer_test, len(data.test_x))
    out: dict[str, dict[str, float]] = {}
    for n_labels in settings.transfer_labels:
        n = _n(n_labels, len(data.train_x))
        key = "all" if n_labels is None else str(n)
        out[key] = {}
        for mode in ("frozen", "scratch"):
            min_steps = settings.transfer_min_steps
            if mode == "scratch" and settings.transfer_scratch_min_steps is not None:
                min_steps = settings.transfer_scratch_min_steps
            with _Timer(f"[{label}] transfer, {n:,} labels, {mode}"):
                out[key][mode] = transfer_accuracy(
                    encoder, code_dim, data.train_x, data.train_y, data.test_x[:n_test], data.test_y[:n_test],
                    n, frozen=mode == "frozen", epochs=settings.transfer_epochs, min_steps=min_steps)
        log.info("[%s] transfer %s labels: frozen %.4f / scratch %.4f", label, key,
                 out[key]["frozen"], out[key]["scratch"])
    return out


def _reconstruction(model: nn.Module, data: EvalData, settings: Settings, img_dir: Path, method: str,
                    label: str) -> tuple[dict[str, float], str]:
    from aelab.metrics import evaluate
    from aelab.images import save_reconstruction_grid

    n_test = _n(settings.test_images, len(data.test_x))
    with _Timer(f"[{label}] reconstruction error on {n_test:,} test images"):
        test = evaluate(model, data.test_x[:n_test])  # type: ignore[arg-type]
    log.info("[%s] test sq_err_per_image %.3f", label, test["sq_err_per_image"])
    grid = save_reconstruction_grid(model, data.test_x[: settings.grid_images],  # type: ignore[arg-type]
                                    img_dir / f"results_{method}.png")
    return test, grid.name


def pca_row(data: EvalData, settings: Settings, img_dir: Path, device: torch.device) -> dict[str, Any]:
    """PCA-30 fitted on all 60,000 training images (train + validation), as in the paper."""
    with _Timer(f"[pca] fitting PCA-{CODE_DIM} on {len(data.pool_x):,} training images") as t:
        pca = fit_pca(data.pool_x, CODE_DIM)
    model = PCAAutoencoder(pca)
    test, grid = _reconstruction(model, data, settings, img_dir, "pca", "pca")
    row = _row("pca", f"PCA-{CODE_DIM}", "computed", CODE_DIM, test=test, grid=grid, wall_time_s=t.seconds,
               hardware=describe_device(device), epochs="closed form")
    row.update(code_metrics(model.encoder, CODE_DIM, data, settings, "pca"))
    return row


def pixels_row(data: EvalData, settings: Settings, device: torch.device) -> dict[str, Any]:
    """P@k with the raw 784 pixels as the code: the reference a code should beat."""
    n_db, n_queries = _n(settings.database, len(data.pool_x)), _n(settings.queries, len(data.test_x))
    with _Timer(f"[pixels] P@{settings.k} in pixel space ({n_queries:,} queries, {n_db:,} images)") as t:
        p = precision_at_k(data.test_x[:n_queries].flatten(1), data.test_y[:n_queries],
                           data.pool_x[:n_db].flatten(1), data.pool_y[:n_db], k=settings.k)
    log.info("[pixels] P@%d %.4f", settings.k, p)
    row = _row("pixels", "Pixels (no code)", "computed", 784, wall_time_s=t.seconds,
               hardware=describe_device(device))
    row[f"p_at_{settings.k}"] = p
    return row


def published_rows() -> list[dict[str, Any]]:
    return [_row(name, label, "published", CODE_DIM, test={"sq_err_per_image": err}) for name, label, err in PUBLISHED]


def _row(method: str, label: str, source: str, code_dim: int, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"method": method, "label": label, "source": source, "code_dim": code_dim,
                           "test": None, "linear_probe_acc": None, "transfer": None, "epochs": None,
                           "epochs_planned": None, "status": None, "wall_time_s": None, "hardware": None,
                           "hardware_recorded": True, "run_dir": None, "grid": None, "error": None}
    row.update(fields)
    return row


def autoencoder_row(method: str, run_dir: str | Path, data: EvalData, settings: Settings, img_dir: Path,
                    device: torch.device, source: str = "collected", hardware: str | None = None) -> dict[str, Any]:
    """Measure a trained run (its best.pt): reconstruction, grid, probe, P@k, transfer."""
    from aelab.config import to_dict
    from aelab.runs import load_run

    run_dir = Path(run_dir)
    run = load_run(run_dir, device=device)
    model, config, metrics = run.model, to_dict(run.config), run.metrics
    recorded = True
    if hardware is None:
        hardware, recorded = run_hardware(run_dir, metrics)
    label = AE_METHODS[method].label if method in AE_METHODS else method
    if method == "linear":
        out_act = config["model"]["output_activation"]
        label += " (linear output)" if out_act == "identity" else " (σ output)"
    status = metrics.get("status", "unknown")
    log.info("[%s] %s run %s: %s, %s epochs", method, source, run_dir, status, metrics.get("epochs_completed"))
    test, grid = _reconstruction(model, data, settings, img_dir, method, method)
    row = _row(method, label, source, int(config["model"]["code_dim"]), test=test, grid=grid,
               epochs=metrics.get("epochs_completed"), epochs_planned=config["trainer"]["epochs"], status=status,
               wall_time_s=metrics.get("wall_time_s"), hardware=hardware, hardware_recorded=recorded,
               run_dir=str(run_dir), architecture=model.summary(),
               train_images=len(data.train_x) if config["data"].get("limit") is None
               else min(int(config["data"]["limit"]), len(data.train_x)))
    if method in AE_METHODS:
        try:  # the preset's epochs, to show when a run was trained for fewer (or more)
            row["epochs_preset"] = int(compose_config(method_overrides(method, quick=False)).trainer.epochs)
        except Exception as err:  # never fatal to collecting a run
            log.warning("[%s] could not compose the preset: %s", method, err)
    row.update(code_metrics(model.encoder, row["code_dim"], data, settings, method))
    return row


# --- training ----------------------------------------------------------------------------------


def merge_overrides(*groups: Iterable[str]) -> list[str]:
    """Hydra overrides in order, a later value of the same key replacing an earlier one."""
    merged: dict[str, str] = {}
    for group in groups:
        for item in group:
            key = item.split("=", 1)[0].lstrip("+~")
            merged.pop(key, None)
            merged[key] = item
    return list(merged.values())


def method_overrides(method: str, quick: bool, device: str = "auto", extra: Sequence[str] = ()) -> list[str]:
    m = AE_METHODS[method]
    return merge_overrides(m.overrides, ALWAYS, QUICK_TRAIN if quick else (), m.quick_overrides if quick else (),
                           [f"device={device}"], extra)


def compose_config(overrides: Sequence[str]):
    """The config exactly as ``aelab-train <overrides>`` builds it."""
    from aelab.config import compose

    return compose(list(overrides))


def train_method(method: str, run_dir: str | Path, overrides: Sequence[str], retrain: bool = False
                 ) -> tuple[dict[str, Any], Path]:
    """Train ``method`` into ``run_dir`` with :func:`aelab.train` (``skip_done``: a completed run of the
    same config there is reused); ``retrain`` trains into a new ``<run_dir>-<time>`` instead, never
    over a run. Returns (its metrics, its directory); raises if it did not complete."""
    from aelab.training import train

    run_dir = Path(run_dir)
    if retrain and run_dir.exists():
        run_dir = run_dir.with_name(f"{run_dir.name}-{_dt.datetime.now():%Y%m%d-%H%M%S}")
    cfg = compose_config([*overrides, "skip_done=true"])
    log.info("[%s] training into %s (a completed run of this config there is reused): %s", method, run_dir,
             " ".join(overrides))
    metrics = train(cfg, run_dir)
    if metrics["status"] != "completed":
        raise RuntimeError(f"training {method} {metrics['status']}: {metrics.get('error')}")
    return metrics, run_dir


# --- the whole table ---------------------------------------------------------------------------


def parse_runs(items: Sequence[str]) -> dict[str, Path]:
    """``["hinton2006=outputs/runs/x", ...]`` → ``{"hinton2006": Path(...)}``; checks the names and
    that each run has a best checkpoint."""
    runs: dict[str, Path] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--runs takes NAME=RUN_DIR, got {item!r}")
        if name not in AE_METHODS:
            raise ValueError(f"--runs: unknown method {name!r}; one of: {', '.join(AE_METHODS)}")
        if not (Path(path) / "checkpoints" / "best.pt").exists():
            raise ValueError(f"--runs {item}: no checkpoints/best.pt in {path}")
        runs[name] = Path(path)
    return runs


def run_results(
    out: str | Path,
    *,
    methods: Sequence[str] = METHODS,
    runs: dict[str, Path] | None = None,
    quick: bool = False,
    settings: Settings | None = None,
    train_root: str | Path | None = None,
    data_root: str | Path | None = None,
    device: str = "auto",
    extra_overrides: Sequence[str] = (),
    retrain: bool = False,
    hardware: dict[str, str] | None = None,
    command: str | None = None,
) -> dict[str, Any]:
    """Measure ``methods`` (trained here, or collected from ``runs``), write ``out`` (markdown),
    ``results.json`` and ``img/results_<method>.png`` beside it; return the results dict."""
    from aelab.hardware import resolve_device

    started = time.perf_counter()
    out = Path(out)
    img_dir = out.parent / "img"
    img_dir.mkdir(parents=True, exist_ok=True)
    runs = dict(runs or {})
    unknown = [m for m in [*methods, *runs] if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {', '.join(unknown)}; choose from: {', '.join(METHODS)}")
    selected = [m for m in METHODS if m in methods or m in runs]
    settings = settings or (QUICK if quick else FULL)
    train_root = Path(train_root or ("outputs/results_quick/runs" if quick else "outputs/results"))
    dev = resolve_device(device)
    data_root = data_root or os.environ.get("AELAB_DATA_DIR", "data")
    with _Timer(f"loading MNIST from {data_root}"):
        data = EvalData.load(data_root, dev)

    rows: list[dict[str, Any]] = []
    for i, method in enumerate(selected, 1):
        log.info("=== %d/%d: %s ===", i, len(selected), method)
        try:
            if method == "pca":
                rows.append(pca_row(data, settings, img_dir, dev))
            elif method == "pixels":
                rows.append(pixels_row(data, settings, dev))
            elif method in runs:
                rows.append(autoencoder_row(method, runs[method], data, settings, img_dir, dev, "collected",
                                            (hardware or {}).get(method)))
            else:
                overrides = method_overrides(method, quick, device, extra_overrides)
                _, run_dir = train_method(method, train_root / method, overrides, retrain=retrain)
                row = autoencoder_row(method, run_dir, data, settings, img_dir, dev, "trained",
                                      (hardware or {}).get(method) or describe_device(dev))
                row["overrides"] = overrides
                rows.append(row)
        except Exception as err:  # one broken method must not lose the others' hours of work
            log.exception("[%s] failed", method)
            label = AE_METHODS[method].label if method in AE_METHODS else method
            rows.append(_row(method, label, "failed", CODE_DIM, error=f"{type(err).__name__}: {err}"))
    rows += published_rows()

    results = {
        "title": "30-d codes of MNIST: reconstruction, linear probe, retrieval and transfer",
        "mode": "quick" if settings.quick else "full",
        "created": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": command,
        "host": describe_device(dev),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "settings": dataclasses.asdict(settings),
        "methods": selected,
        "rows": rows,
        "total_time_s": time.perf_counter() - started,
    }
    results["checks"] = checks(rows)
    write_results(results, out)
    log.info("wrote %s and %s in %.0f s", out, out.parent / "results.json", results["total_time_s"])
    return results


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


# --- rendering ---------------------------------------------------------------------------------


def _fmt(x: float | None, digits: int = 3) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 1 else f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _epochs(row: dict[str, Any]) -> str:
    """``60``, ``12 of 60 (running)``, ``2 (5,000 imgs; preset 60)``."""
    done, planned, status = row.get("epochs"), row.get("epochs_planned"), row.get("status")
    if isinstance(done, str) or done is None:
        return done or "—"
    text = f"{done}" if planned in (None, done) else f"{done} of {planned}"
    notes = [status] if status and status != "completed" else []
    limit = row.get("train_images")
    if limit is not None and limit < 55_000:
        notes.append(f"{limit:,} imgs")
    preset = row.get("epochs_preset")
    if preset is not None and preset != (planned if planned is not None else done):
        notes.append(f"preset {preset}")
    return text + (f" ({'; '.join(notes)})" if notes else "")


def _label_key(key: str) -> str:
    return "all" if key == "all" else f"{int(key):,}"


def render_markdown(results: dict[str, Any]) -> str:
    """RESULTS.md from the results dict (the same that is written to results.json)."""
    s = results["settings"]
    rows = results["rows"]
    k = s["k"]
    keys = ["all" if n is None else str(n) for n in s["transfer_labels"]]
    n_train = 55_000
    head = ["Method", "Code dim", "Test sq. err. / image", "Linear probe acc.", f"P@{k}",
            *[f"Transfer {_label_key(key)} labels (frozen / scratch)" for key in keys],
            "Epochs", "Wall time", "Hardware"]
    lines = [f"# {results['title']}", ""]
    if results["mode"] == "quick":
        lines += ["> **Quick smoke run** (`--quick`): tiny trainings, subsets for the probe, retrieval and "
                  "transfer. The numbers check the pipeline, not the methods.", ""]
    lines += [f"Generated {results['created']} by `{results.get('command') or 'aelab.results.run_results'}` "
              f"(torch {results['torch']}, measured on {results['host']}"
              + (f", torch threads: {results['torch_threads']}" if results.get("torch_threads") else "")
              + f", {fmt_duration(results['total_time_s'])} in all).",
              "", "| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["--:"] * (len(head) - 2) + ["---"]) + "|"]
    footnotes: list[str] = []
    for r in rows:
        test = r.get("test") or {}
        transfer = r.get("transfer") or {}
        hw = r.get("hardware") or "—"
        if not r.get("hardware_recorded", True):
            hw += " ¹"
            if "¹" not in "".join(footnotes):
                footnotes.append("¹ Not recorded by the run; inferred from its train.log (a CPU run is assumed to "
                                 "have been on this host).")
        cells = [r["label"] if not r.get("error") else f"{r['label']} — **failed**: {r['error']}",
                 str(r["code_dim"]), _fmt(test.get("sq_err_per_image"), 2), _fmt(r.get("linear_probe_acc")),
                 _fmt(r.get(f"p_at_{k}")),
                 *[(f"{_fmt(transfer[key]['frozen'])} / {_fmt(transfer[key]['scratch'])}" if key in transfer else "—")
                   for key in keys],
                 _epochs(r), fmt_duration(r.get("wall_time_s")), hw]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines.append("")
    lines += footnotes and [*footnotes, ""]
    missing = [m for m in METHODS if m not in results.get("methods", METHODS)]
    if missing:
        lines += [f"Not in this table: {', '.join(missing)} (train it where it is fast and add it with "
                  f"`--runs {missing[0]}=RUN_DIR`).", ""]

    n = lambda v, total: f"{total:,}" if v is None else f"{min(v, total):,}"  # noqa: E731
    checks_ = results.get("checks") or {}
    lines += ["## How it was measured", "",
              f"- **Test sq. err. / image**: Σ over the 784 pixels of (x̂ − x)², pixels in [0, 1], averaged over "
              f"{n(s['test_images'], 10_000)} MNIST test images (Hinton & Salakhutdinov 2006: 3.00 deep AE, 8.01 "
              "logistic PCA, 13.87 PCA). Autoencoders: their best-validation checkpoint.",
              f"- **Linear probe**: codes of {n(s['probe_train'], n_train)} training images → standardised → "
              f"multinomial logistic regression (L-BFGS) → accuracy on {n(s['probe_test'], 10_000)} test images.",
              f"- **P@{k}**: for {n(s['queries'], 10_000)} test queries, the share of their {k} nearest "
              f"(Euclidean) codes among {n(s['database'], 60_000)} training images (train + validation) that "
              "share the label; *Pixels* searches the raw 784 pixels.",
              f"- **Transfer**: a linear head on the encoder's code, trained with Adam on a class-balanced set of "
              f"n training labels (max({s['transfer_min_steps']}, {s['transfer_epochs']} epochs) steps of "
              "batch 128): *frozen* = the trained encoder fixed, only the head learns; *scratch* = the same "
              "architecture freshly initialised and trained with the head"
              + (f" (max({s['transfer_scratch_min_steps']}, {s['transfer_epochs']} epochs) steps)"
                 if s.get("transfer_scratch_min_steps") is not None else "")
              + f". Accuracy on "
              f"{n(s['transfer_test'], 10_000)} test images. PCA's scratch baseline is a linear 784→30 layer.",
              "- **PCA-30** is fitted on all 60,000 training images (train + validation). **Epochs**: completed "
              "(of planned) training epochs, with the experiment preset's where the run used another number; "
              "\"imgs\" = a reduced training set. **Wall time**: training time "
              "from the run's metrics.json (PCA: the fit). **Hardware**: where it was trained.",
              ""]
    if checks_:
        lines += ["## Checks", ""]
        if "pca_vs_published" in checks_:
            c = checks_["pca_vs_published"]
            lines.append(f"- PCA-30: {c['ours']:.3f} vs the published {c['published']:.2f} "
                         f"(difference {c['diff']:+.3f}).")
        if "linear_vs_pca" in checks_:
            c = checks_["linear_vs_pca"]
            linear = next(r for r in rows if r["method"] == "linear")
            sigma = "σ output" in linear["label"]
            lines.append(f"- Linear AE / PCA error: {c['ratio']:.3f} — "
                         + ("within 2% of PCA." if c["within_2pct"] else "**not** within 2% of PCA")
                         + (" (the model's σ output layer makes it a logistic-PCA-like model, which can "
                            "beat PCA; a linear AE needs a linear output layer)." if sigma else
                            "" if c["within_2pct"] else " (train longer)."))
        lines.append("")

    grids = [r for r in rows if r.get("grid")]
    if grids:
        lines += ["## Reconstructions", "",
                  f"The first {s['grid_images']} test digits (top row) and each method's reconstructions "
                  "(bottom row).", ""]
        for r in grids:
            lines += [f"**{r['label']}**", "", f"![{r['label']}](img/{r['grid']})", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_results(results: dict[str, Any], out: str | Path) -> tuple[Path, Path]:
    """Write ``out`` (markdown) and ``results.json`` beside it, each atomically."""
    from aelab.files import write_json, write_text

    out = Path(out)
    json_path = write_json(out.parent / "results.json", results)
    write_text(out, render_markdown(results))
    return out, json_path


__all__ = [
    "AE_METHODS", "EvalData", "FULL", "METHODS", "Method", "PUBLISHED", "QUICK", "Settings",
    "autoencoder_row", "code_metrics", "compose_config", "cpu_name", "describe_device", "method_overrides",
    "parse_runs", "pca_row", "pixels_row", "published_rows", "render_markdown", "run_results",
    "train_method", "write_results",
]
