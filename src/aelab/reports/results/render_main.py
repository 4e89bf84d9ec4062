"""The main table's sections of RESULTS.md: the table (a row per method, the published rows last),
how it was measured, the checks against PCA and the published 13.87, the reconstructions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aelab.reports.render import Bullets, Image, Para, Section, Table
from aelab.reports.results.format import (
    N_TRAIN,
    epochs_cell,
    fmt,
    fmt_duration,
    generated,
    label_cell,
    label_key,
    n_of,
    transfer_cell,
    transfer_keys,
)
from aelab.reports.results.methods import METHODS


def table_section(results: dict[str, Any]) -> Section:
    s, rows, k = results["settings"], results["rows"], results["settings"]["k"]
    keys = transfer_keys(s)
    head = [
        "Method",
        "Code dim",
        "Test sq. err. / image",
        "Linear probe acc.",
        f"P@{k}",
        *[f"Transfer {label_key(key)} labels (frozen / scratch)" for key in keys],
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
                label_cell(r),
                str(r["code_dim"]),
                fmt(test.get("sq_err_per_image"), 2),
                fmt(r.get("linear_probe_acc")),
                fmt(r.get(f"p_at_{k}")),
                *[transfer_cell(transfer, key) for key in keys],
                epochs_cell(r),
                fmt_duration(r.get("wall_time_s")),
                hardware,
            ]
        )
    blocks = generated(results, "the probe, retrieval and transfer")
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
                    f"over {n_of(s['test_images'], 10_000)} MNIST test images (Hinton & Salakhutdinov 2006: 3.00 "
                    "deep AE, 8.01 logistic PCA, 13.87 PCA). Autoencoders: their best-validation checkpoint.",
                    f"**Linear probe**: codes of {n_of(s['probe_train'], N_TRAIN)} training images → standardised → "
                    "multinomial logistic regression (L-BFGS) → accuracy on "
                    f"{n_of(s['probe_test'], 10_000)} test images.",
                    f"**P@{k}**: for {n_of(s['queries'], 10_000)} test queries, the share of their {k} nearest "
                    f"(Euclidean) codes among {n_of(s['database'], 60_000)} training images (train + validation) "
                    "that share the label; *Pixels* searches the raw 784 pixels.",
                    "**Transfer**: a linear head on the encoder's code, trained with Adam on a class-balanced set "
                    f"of n training labels ({steps}): *frozen* = the trained encoder fixed, only the head learns; "
                    "*scratch* = the same architecture freshly initialised and trained with the head"
                    f"{scratch}. Accuracy on {n_of(s['transfer_test'], 10_000)} test images. PCA's scratch "
                    "baseline is a linear 784→30 layer.",
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


def main_sections(results: dict[str, Any], img_dir: Path) -> list[Section]:
    """The main table's sections, its images in ``img_dir``."""
    sections = [
        table_section(results),
        method_section(results["settings"]),
        checks_section(results),
        grids_section(results, img_dir),
    ]
    return [s for s in sections if s is not None]


__all__ = ["checks_section", "grids_section", "main_sections", "method_section", "table_section"]
