"""The datasets table's sections of RESULTS.md: each dataset's autoencoders against PCA (test error,
epochs, wall time, hardware), what their first layers learned, and how it was measured, with the
command of every trained row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aelab.reports.render import Bullets, Image, Para, Section, Table
from aelab.reports.results.format import fmt, fmt_duration, generated, label_cell

DATASETS_TITLE = "Beyond MNIST: 8×8 digits and natural-image patches"
DATASETS_HEADINGS = (DATASETS_TITLE, "Beyond MNIST: first-layer features", "Beyond MNIST: how it was measured")
NAMES = {"digits8": "digits8 (scikit-learn, 1×8×8)", "patches": "patches (scikit-image, 1×8×8, zca)"}


def _epochs(row: dict[str, Any]) -> str:
    done, planned = row.get("epochs"), row.get("epochs_planned")
    if isinstance(done, str) or done is None:
        return done or "—"
    return f"{done}" if planned in (None, done) else f"{done} of {planned}"


def _versus_pca(rows: list[dict[str, Any]]) -> list[str]:
    """Per dataset: each autoencoder's test error as a multiple of its PCA row's."""
    lines = []
    for dataset in dict.fromkeys(r.get("dataset") for r in rows if r.get("dataset")):
        mine = [r for r in rows if r.get("dataset") == dataset and r.get("test")]
        pca = next((r for r in mine if r["method"].endswith("_pca")), None)
        if pca is None:
            continue
        base = pca["test"]["sq_err_per_image"]
        parts = [f"{r['label']} {r['test']['sq_err_per_image'] / base:.2f}×" for r in mine if r is not pca and base > 0]
        if parts:
            lines.append(f"**{dataset}**, test error relative to {pca['label']} ({fmt(base, 2)}): {', '.join(parts)}.")
    return lines


def _table(rows: list[dict[str, Any]]) -> Table:
    head = ["Dataset", "Method", "Code", "Test sq. err. / image", "Epochs", "Wall time", "Hardware"]
    cells = [
        [
            NAMES.get(r.get("dataset") or "", r.get("dataset") or "—"),
            label_cell(r),
            str(r.get("code_dim") or "—"),
            fmt((r.get("test") or {}).get("sq_err_per_image"), 3),
            _epochs(r),
            fmt_duration(r.get("wall_time_s")),
            r.get("hardware") or "—",
        ]
        for r in rows
    ]
    return Table(head, cells, [False, False, True, True, True, True, False])


def _figures(rows: list[dict[str, Any]], img_dir: Path) -> list[Any]:
    blocks: list[Any] = [
        Para(
            "Each unit's input weights drawn as an 8×8 image (`aelab.features`: scaled per unit, zero mid-grey), "
            "the picture `aelab-evaluate` writes as `features.png` and TensorBoard shows as `features/<layer>`; "
            "for PCA its components. Below each, the first 16 test images (top) and their reconstructions (bottom)."
        )
    ]
    for r in rows:
        if not r.get("features"):
            continue
        blocks += [
            Para(f"**{r['label']}** on {r.get('dataset')}"),
            Image(img_dir / r["features"], f"{r['label']} features"),
        ]
        if r.get("grid"):
            blocks.append(Image(img_dir / r["grid"], f"{r['label']} reconstructions"))
    return blocks


def _method(rows: list[dict[str, Any]]) -> Section:
    commands = [
        f"*{r['label']}* ({r.get('dataset')}): `aelab-train {' '.join(r['overrides'])}`"
        for r in rows
        if r.get("overrides")
    ]
    return Section(
        DATASETS_HEADINGS[2],
        [
            Bullets(
                [
                    "**digits8**: scikit-learn's 1,797 8×8 digits (pixel counts 0–16 divided by 16), the row's fixed "
                    "split: 1,200 train, 300 validation, 297 test (the last 297).",
                    "**patches**: 8×8 grey patches of scikit-image's photographs, each less its mean, ZCA-whitened "
                    "with the training patches' statistics (`data.normalize=zca`); 30,000 training patches from six "
                    "photographs, 5,000 validation patches from two others, 5,000 test patches from two more "
                    "(rocket, camera): no test photograph is trained on.",
                    "**Test sq. err. / image**: Σ over an image's 64 values of (x̂ − x)², averaged over the test "
                    "images, each run's best-validation checkpoint (whitened values for patches, so it compares "
                    "rows of one dataset only).",
                    "**PCA-k**: the top k principal components of the training and validation images of the same "
                    "data, k the autoencoder's code size; the best linear code of k numbers for this error.",
                    "**Sparse AE**: one logistic layer, a linear decoder, E = ½‖x̂ − x‖² + β Σ_j KL(ρ ‖ ρ̂_j) + "
                    "λ/2 ‖W‖² (the L2 term from `optimizer=sgd optimizer.weight_decay`, the lecture's update); "
                    "*Plain AE*: the same without the KL term.",
                    *commands,
                ]
            )
        ],
    )


def datasets_sections(results: dict[str, Any], img_dir: Path) -> list[Section]:
    """The table, the features figure, how it was measured."""
    rows = results["rows"]
    blocks: list[Any] = [*generated(results, "the trainings"), _table(rows)]
    blocks += [Para(line) for line in _versus_pca(rows)]
    return [Section(DATASETS_TITLE, blocks), Section(DATASETS_HEADINGS[1], _figures(rows, img_dir)), _method(rows)]


__all__ = ["DATASETS_HEADINGS", "DATASETS_TITLE", "datasets_sections"]
