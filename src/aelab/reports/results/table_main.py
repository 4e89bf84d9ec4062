"""The main table (``results.json``): 30-d codes of MNIST from PCA-30, the linear AE, the hinton2006
MLP and the conv AE, with the pixels as the P@10 reference and the published rows of Hinton &
Salakhutdinov (Science 2006); its checks against the published PCA and between the linear AE and
PCA (a linear AE trained long enough spans PCA's subspace, so its error reaches PCA's)."""

from __future__ import annotations

from functools import partial
from typing import Any

from aelab.reports.results.methods import AE_METHODS, CODE_DIM, METHODS, method_overrides
from aelab.reports.results.render_main import main_sections
from aelab.reports.results.rows import autoencoder_row, pca_row, pixels_row
from aelab.reports.results.spec import Context, Row, RunRef, TableSpec

MAIN_TITLE = "30-d codes of MNIST: reconstruction, linear probe, retrieval and transfer"
# Hinton & Salakhutdinov (2006), MNIST test set, 30-d codes: squared error per image.
PUBLISHED: tuple[tuple[str, str, float], ...] = (
    ("deep_ae_published", "Deep AE 784-1000-500-250-30, RBM-pretrained (published)", 3.00),
    ("logistic_pca_published", "Logistic PCA (published)", 8.01),
    ("pca_published", "PCA (published)", 13.87),
)
PCA_PUBLISHED = 13.87
LINEAR_TOLERANCE = 0.02  # a linear AE trained long enough reaches PCA's error within 2%


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


def _measure(ctx: Context, row: Row, run: RunRef) -> dict[str, Any]:
    """An autoencoder's row: reconstruction, grid, probe, P@k, transfer (:func:`autoencoder_row`)."""
    return autoencoder_row(
        row.method, run.dir, ctx.data, ctx.measure, ctx.img_dir, ctx.device, run.source, run.hardware
    )


def _derive(rows: list[dict[str, Any]], fields: dict[str, Any]) -> dict[str, Any]:
    """The checks, and the methods the table holds (rows kept from earlier runs too)."""
    return {"checks": checks(rows), "methods": [m for m in METHODS if any(r["method"] == m for r in rows)]}


def _pca(ctx: Context) -> dict[str, Any]:
    return pca_row(ctx.data, ctx.measure, ctx.img_dir, ctx.device)


def _pixels(ctx: Context) -> dict[str, Any]:
    return pixels_row(ctx.data, ctx.measure, ctx.device)


MAIN = TableSpec(
    name="main",
    file="results.json",
    title=MAIN_TITLE,
    rows=(
        Row("pca", "pca", f"PCA-{CODE_DIM}", compute=_pca),
        *(Row(m, m, ae.label, train=partial(method_overrides, m), folder=m) for m, ae in AE_METHODS.items()),
        Row("pixels", "pixels", "Pixels (no code)", compute=_pixels),
        *(Row(name, name, label, published=err) for name, label, err in PUBLISHED),
    ),
    measure=_measure,
    render=main_sections,
    derive=_derive,
)

__all__ = ["LINEAR_TOLERANCE", "MAIN", "MAIN_TITLE", "PCA_PUBLISHED", "PUBLISHED", "checks"]
