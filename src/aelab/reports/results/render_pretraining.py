"""The pretraining table's sections of RESULTS.md: test error, ‖∂E/∂W‖ first/last and per layer at
the start of end-to-end training, pretraining, epochs, wall time, hardware; how it was measured; a
reconstruction grid per row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aelab.reports.render import Bullets, Image, Para, Section, Table
from aelab.reports.results.format import (
    epochs_cell,
    fmt,
    fmt_duration,
    fmt_ratio,
    generated,
    label_cell,
    n_of,
    plural,
)

PRETRAINING_TITLE = "Pretraining and the gradient at the start of training"
PRETRAINING_HEADINGS = (PRETRAINING_TITLE, "Pretraining: how it was measured", "Pretraining: reconstructions")


def _norms(norms: dict[str, float] | None) -> str:
    if not norms:
        return "—"
    return " · ".join(f"{float(v):.1e}" for v in norms.values())


def _pretraining_cell(r: dict[str, Any]) -> str:
    stages = r.get("pretrain_stages") or []
    if not stages:
        return "none"
    per_layer = plural([r.get("epochs_per_layer")], "?", "epochs")
    return f"{len(stages)} layers × {per_layer}, {fmt_duration(r.get('pretrain_time_s'))}"


def _table(rows: list[dict[str, Any]]) -> Table:
    n_layers = max((len(r.get("grad_norms_init") or {}) for r in rows), default=0)
    head = [
        "Network",
        "Test sq. err. / image",
        "‖∂E/∂W‖ first / last layer",
        f"‖∂E/∂W‖ per layer (1 → {n_layers})" if n_layers else "‖∂E/∂W‖ per layer",
        "Pretraining",
        "Epochs",
        "Wall time",
        "Hardware",
    ]
    cells = [
        [
            label_cell(r),
            fmt((r.get("test") or {}).get("sq_err_per_image"), 2),
            fmt_ratio(r.get("grad_ratio")),
            _norms(r.get("grad_norms_init")),
            _pretraining_cell(r),
            epochs_cell(r),
            fmt_duration(r.get("wall_time_s")),
            r.get("hardware") or "—",
        ]
        for r in rows
    ]
    return Table(head, cells, [False, True, True, False, False, True, True, False])


def pretraining_sections(results: dict[str, Any], img_dir: Path) -> list[Section]:
    """The pretraining table: test error, ‖∂E/∂W‖ first/last and per layer at the start of
    end-to-end training, pretraining, epochs, wall time, hardware; then a grid per row."""
    rows = results["rows"]
    blocks: list[Any] = [*generated(results), _table(rows)]
    sections = [Section(PRETRAINING_TITLE, blocks), pretraining_method_section(results)]
    grids = [r for r in rows if r.get("grid")]
    if grids:
        fig: list[Any] = [
            Para(
                f"The first {results['settings']['grid_images']} test digits (top row) and each net's "
                "reconstructions (bottom row), the same digits as the main table's images."
            )
        ]
        for r in grids:
            fig += [Para(f"**{r['label']}**"), Image(img_dir / r["grid"], r["label"])]
        sections.append(Section(PRETRAINING_HEADINGS[2], fig))
    return sections


def pretraining_method_section(results: dict[str, Any]) -> Section:
    rows = [r for r in results["rows"] if not r.get("error")]
    epochs = sorted({r.get("epochs_planned") for r in rows} - {None})
    per_layer = sorted({r.get("epochs_per_layer") for r in rows} - {None})
    return Section(
        PRETRAINING_HEADINGS[1],
        [
            Bullets(
                [
                    "**Networks**: 784-1000-500-250-30 with a linear code layer and a logistic output, BCE on "
                    "logits, AdamW one-cycle, one-pixel shifts (`experiment=hinton2006`); *logistic units* = "
                    "`experiment=hinton2006_sigmoid` (logistic hidden units, as in Hinton & Salakhutdinov 2006); "
                    "*ReLU units* = `experiment=hinton2006`. Every row: "
                    f"{plural(epochs, '?', 'end-to-end epochs')} (the same for all, instead of the presets' 60).",
                    "**Layer-wise pretraining** (`pretrain=layerwise`): each encoder layer first trained as a "
                    "shallow autoencoder with tied weights on the codes of the layers below ("
                    f"{plural(per_layer, '?', 'epochs')} each, constant learning rate), then "
                    "the stack unrolled (decoder = transposed encoder) and trained end to end — autoencoders "
                    "instead of the paper's RBMs (Bengio et al. 2007). Its time is part of the wall time.",
                    "**‖∂E/∂W‖**: the Frobenius norm of the loss gradient of each weight layer (first encoder "
                    "layer … output layer) on a fixed validation batch at the **start of end-to-end training** — "
                    "the initial weights, or the pretrained ones (metrics.json's `grad_norms_init`). "
                    "*first / last* = layer 1's over the output layer's (`aelab.gradflow.first_last_ratio`): "
                    "far below 1, the gradient fades on its way back to the first layers.",
                    "**Test sq. err. / image**: Σ over the 784 pixels of (x̂ − x)², the best-validation "
                    f"checkpoint, {n_of(results['settings']['test_images'], 10_000)} test images.",
                ]
            )
        ],
    )


__all__ = ["PRETRAINING_HEADINGS", "PRETRAINING_TITLE", "pretraining_method_section", "pretraining_sections"]
