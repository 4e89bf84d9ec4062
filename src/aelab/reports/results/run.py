"""The results table, end to end: train (or collect) the autoencoders, measure every method, write
RESULTS.md, results.json and img/results_<method>.png (the same first 16 test digits for each).

Autoencoders are either trained here with :func:`aelab.train` (into ``<train_root>/<method>``; a
completed run of the same config there is reused) or collected from finished runs (``runs=``),
e.g. long GPU trainings.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from aelab.config import compose
from aelab.files import write_json, write_text
from aelab.hardware import describe, resolve_device
from aelab.reports.results.measure import (
    FULL,
    QUICK,
    EvalData,
    Settings,
    Timer,
    autoencoder_row,
    checks,
    make_row,
    pca_row,
    pixels_row,
    published_rows,
)
from aelab.reports.results.methods import AE_METHODS, CODE_DIM, METHODS, method_overrides
from aelab.reports.results.render import render_markdown
from aelab.training import train

log = logging.getLogger("aelab.results")


def train_method(
    method: str, run_dir: str | Path, overrides: Sequence[str], retrain: bool = False
) -> tuple[dict[str, Any], Path]:
    """Train ``method`` into ``run_dir`` with :func:`aelab.train` (``skip_done``: a completed run of the
    same config there is reused); ``retrain`` trains into a new ``<run_dir>-<time>`` instead, never
    over a run. Returns (its metrics, its directory); raises if it did not complete."""
    run_dir = Path(run_dir)
    if retrain and run_dir.exists():
        run_dir = run_dir.with_name(f"{run_dir.name}-{_dt.datetime.now():%Y%m%d-%H%M%S}")
    cfg = compose([*overrides, "skip_done=true"])
    log.info(
        "[%s] training into %s (a completed run of this config there is reused): %s",
        method,
        run_dir,
        " ".join(overrides),
    )
    metrics = train(cfg, run_dir)
    if metrics["status"] != "completed":
        raise RuntimeError(f"training {method} {metrics['status']}: {metrics.get('error')}")
    return metrics, run_dir


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
    with Timer(f"loading MNIST from {data_root}"):
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
                rows.append(
                    autoencoder_row(
                        method, runs[method], data, settings, img_dir, dev, "collected", (hardware or {}).get(method)
                    )
                )
            else:
                overrides = method_overrides(method, quick, device, extra_overrides)
                _, run_dir = train_method(method, train_root / method, overrides, retrain=retrain)
                row = autoencoder_row(
                    method,
                    run_dir,
                    data,
                    settings,
                    img_dir,
                    dev,
                    "trained",
                    (hardware or {}).get(method) or describe(dev),
                )
                row["overrides"] = overrides
                rows.append(row)
        except Exception as err:  # one broken method must not lose the others' hours of work
            log.exception("[%s] failed", method)
            label = AE_METHODS[method].label if method in AE_METHODS else method
            rows.append(make_row(method, label, "failed", CODE_DIM, error=f"{type(err).__name__}: {err}"))
    rows += published_rows()

    results = {
        "title": "30-d codes of MNIST: reconstruction, linear probe, retrieval and transfer",
        "mode": "quick" if settings.quick else "full",
        "created": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": command,
        "host": describe(dev),
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


def write_results(results: dict[str, Any], out: str | Path) -> tuple[Path, Path]:
    """Write ``out`` (markdown) and ``results.json`` beside it, each atomically."""
    out = Path(out)
    json_path = write_json(out.parent / "results.json", results)
    write_text(out, render_markdown(results, out.parent))
    return out, json_path


__all__ = ["parse_runs", "run_results", "train_method", "write_results"]
