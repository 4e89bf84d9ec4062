"""RESULTS.md from the results dict (the same that results.json holds), through the renderer every
aelab report uses (:mod:`aelab.reports.render`)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from aelab.reports.render import Bullets, Image, Para, Section, Table
from aelab.reports.render import render_markdown as render_sections
from aelab.reports.results.methods import METHODS

N_TRAIN = 55_000


def fmt(x: float | None, digits: int = 3) -> str:
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
    if limit is not None and limit < N_TRAIN:
        notes.append(f"{limit:,} imgs")
    preset = row.get("epochs_preset")
    if preset is not None and preset != (planned if planned is not None else done):
        notes.append(f"preset {preset}")
    return text + (f" ({'; '.join(notes)})" if notes else "")


def _label_key(key: str) -> str:
    return "all" if key == "all" else f"{int(key):,}"


def table_section(results: dict[str, Any]) -> Section:
    s, rows, k = results["settings"], results["rows"], results["settings"]["k"]
    keys = ["all" if n is None else str(n) for n in s["transfer_labels"]]
    head = [
        "Method",
        "Code dim",
        "Test sq. err. / image",
        "Linear probe acc.",
        f"P@{k}",
        *[f"Transfer {_label_key(key)} labels (frozen / scratch)" for key in keys],
        "Epochs",
        "Wall time",
        "Hardware",
    ]
    cells, footnotes = [], []
    for r in rows:
        test, transfer = r.get("test") or {}, r.get("transfer") or {}
        hardware = r.get("hardware") or "—"
        if r.get("hardware_recorded") is False:  # a row of a run that did not record it (results.json)
            hardware += " ¹"
            footnotes = [
                "¹ Not recorded by the run; inferred from its train.log (a CPU run is assumed to have "
                "been on this host)."
            ]
        cells.append(
            [
                r["label"] if not r.get("error") else f"{r['label']} — **failed**: {r['error']}",
                str(r["code_dim"]),
                fmt(test.get("sq_err_per_image"), 2),
                fmt(r.get("linear_probe_acc")),
                fmt(r.get(f"p_at_{k}")),
                *[
                    (f"{fmt(transfer[key]['frozen'])} / {fmt(transfer[key]['scratch'])}" if key in transfer else "—")
                    for key in keys
                ],
                _epochs(r),
                fmt_duration(r.get("wall_time_s")),
                hardware,
            ]
        )
    blocks: list[Any] = []
    if results["mode"] == "quick":
        blocks.append(
            Para(
                "**Quick smoke run** (`--quick`): tiny trainings, subsets for the probe, retrieval and "
                "transfer. The numbers check the pipeline, not the methods."
            )
        )
    threads = f", torch threads: {results['torch_threads']}" if results.get("torch_threads") else ""
    blocks.append(
        Para(
            f"Generated {results['created']} by `{results.get('command') or 'aelab.reports.results'}` "
            f"(torch {results['torch']}, measured on {results['host']}{threads}, "
            f"{fmt_duration(results['total_time_s'])} in all)."
        )
    )
    blocks.append(Table(head, cells, [False] + [True] * (len(head) - 2) + [False]))
    blocks += [Para(note) for note in footnotes]
    missing = [m for m in METHODS if m not in results.get("methods", METHODS)]
    if missing:
        blocks.append(
            Para(
                f"Not in this table: {', '.join(missing)} (train it where it is fast and add it with "
                f"`--runs {missing[0]}=RUN_DIR`)."
            )
        )
    return Section("Results", blocks)


def method_section(s: dict[str, Any]) -> Section:
    def n(value: int | None, total: int) -> str:
        return f"{total:,}" if value is None else f"{min(value, total):,}"

    k = s["k"]
    scratch = (
        f" (max({s['transfer_scratch_min_steps']}, {s['transfer_epochs']} epochs) steps)"
        if s.get("transfer_scratch_min_steps") is not None
        else ""
    )
    steps = f"max({s['transfer_min_steps']}, {s['transfer_epochs']} epochs) steps of batch 128"
    return Section(
        "How it was measured",
        [
            Bullets(
                [
                    f"**Test sq. err. / image**: Σ over the 784 pixels of (x̂ − x)², pixels in [0, 1], averaged "
                    f"over {n(s['test_images'], 10_000)} MNIST test images (Hinton & Salakhutdinov 2006: 3.00 deep "
                    "AE, 8.01 logistic PCA, 13.87 PCA). Autoencoders: their best-validation checkpoint.",
                    f"**Linear probe**: codes of {n(s['probe_train'], N_TRAIN)} training images → standardised → "
                    "multinomial logistic regression (L-BFGS) → accuracy on "
                    f"{n(s['probe_test'], 10_000)} test images.",
                    f"**P@{k}**: for {n(s['queries'], 10_000)} test queries, the share of their {k} nearest "
                    f"(Euclidean) codes among {n(s['database'], 60_000)} training images (train + validation) that "
                    "share the label; *Pixels* searches the raw 784 pixels.",
                    "**Transfer**: a linear head on the encoder's code, trained with Adam on a class-balanced set "
                    f"of n training labels ({steps}): *frozen* = the trained encoder fixed, only the head learns; "
                    "*scratch* = the same architecture freshly initialised and trained with the head"
                    f"{scratch}. Accuracy on {n(s['transfer_test'], 10_000)} test images. PCA's scratch baseline "
                    "is a linear 784→30 layer.",
                    "**PCA-30** is fitted on all 60,000 training images (train + validation). **Epochs**: "
                    "completed (of planned) training epochs, with the experiment preset's where the run used "
                    'another number; "imgs" = a reduced training set. **Wall time**: training time from the '
                    "run's metrics.json (PCA: the fit). **Hardware**: where it was trained.",
                ]
            )
        ],
    )


def checks_section(results: dict[str, Any]) -> Section | None:
    checks = results.get("checks") or {}
    if not checks:
        return None
    items = []
    if "pca_vs_published" in checks:
        c = checks["pca_vs_published"]
        items.append(f"PCA-30: {c['ours']:.3f} vs the published {c['published']:.2f} (difference {c['diff']:+.3f}).")
    if "linear_vs_pca" in checks:
        c = checks["linear_vs_pca"]
        items.append(
            f"Linear AE / PCA error: {c['ratio']:.3f} — "
            + ("within 2% of PCA." if c["within_2pct"] else "**not** within 2% of PCA (train longer).")
        )
    return Section("Checks", [Bullets(items)])


def grids_section(results: dict[str, Any], img_dir: Path) -> Section | None:
    grids = [r for r in results["rows"] if r.get("grid")]
    if not grids:
        return None
    blocks: list[Any] = [
        Para(
            f"The first {results['settings']['grid_images']} test digits (top row) and each "
            "method's reconstructions (bottom row)."
        )
    ]
    for r in grids:
        blocks += [Para(f"**{r['label']}**"), Image(img_dir / r["grid"], r["label"])]
    return Section("Reconstructions", blocks)


def render_markdown(results: dict[str, Any], base: Path = Path(".")) -> str:
    """RESULTS.md, its images linked relative to ``base`` (the folder it is written to, with img/)."""
    sections = [
        table_section(results),
        method_section(results["settings"]),
        checks_section(results),
        grids_section(results, base / "img"),
    ]
    return render_sections(results["title"], [s for s in sections if s is not None], base)


__all__ = ["fmt_duration", "render_markdown"]
