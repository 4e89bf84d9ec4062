"""The datasets table (``results_datasets.json``): beyond MNIST, each dataset's autoencoders against
PCA with as many components on the same images: scikit-learn's 8×8 digits, and natural-image
patches, where a sparse autoencoder learns localized, oriented edge filters (Ng's UFLDL exercise)
and the same network without the sparsity penalty does not.

Each trained row is measured on its own run's data (the run's ``data.*`` keys: the same patches,
whitened with the same training statistics); each PCA row is fitted on the training and validation
images of the trained rows' data, as the main table's PCA-30 is on MNIST's 60,000.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import torch

from aelab.analysis import fit_pca
from aelab.config import compose, merge_overrides
from aelab.data import image_format
from aelab.data.load import load
from aelab.features import feature_tiles, save_feature_grid, tile_grid
from aelab.hardware import describe
from aelab.images import save_reconstruction_grid
from aelab.metrics import evaluate
from aelab.reports.results.measure import EvalData, Timer
from aelab.reports.results.methods import ALWAYS
from aelab.reports.results.render_datasets import DATASETS_HEADINGS, datasets_sections
from aelab.reports.results.rows import PCAAutoencoder, make_row, run_row
from aelab.reports.results.spec import Context, Row, RunRef, TableSpec
from aelab.runs import load_run

# scikit-learn's digits: a 64-64-10 MLP, BCE on σ outputs, 200 epochs of 1,200 images
DIGITS = ("data=digits8", "depth=2", "model.width=64", "model.code_dim=10", "loss=bce", "trainer.epochs=200")
# 8×8 grey zca-whitened patches (conf/data/patches.yaml): one logistic layer of 49 units, a linear
# decoder, the lecture's SGD with inertia and L2 weight decay λ = 3·10⁻³, 100 epochs of 30,000 patches
PATCHES = (
    "data=patches",
    "depth=1",
    "model.code_dim=49",
    "model.code_activation=sigmoid",
    "optimizer=sgd",
    "optimizer.lr=1.0",
    "optimizer.weight_decay=3e-3",
    "trainer.epochs=100",
)
SPARSE = ("ae=sparse", "ae.weight=5", "ae.target=0.035")  # β Σ_j KL(ρ ‖ ρ̂_j), β = 5, ρ = 0.035
QUICK = ("trainer.epochs=2",)


def overrides(base: Sequence[str], quick: bool, device: str = "auto", extra: Sequence[str] = ()) -> list[str]:
    """The ``aelab-train`` overrides of a trained row."""
    return merge_overrides(base, ALWAYS, QUICK if quick else (), [f"device={device}"], extra)


def pca_row(method: str, base: Sequence[str], ctx: Context) -> dict[str, Any]:
    """PCA with the code size of ``base``'s network, fitted on the training and validation images of
    ``base``'s data; its components drawn as the features are."""
    config = compose(overrides(base, ctx.settings.quick, ctx.settings.device, ctx.settings.extra_overrides))
    data_config, k = config.data, int(config.model.code_dim)
    data = load(data_config, ctx.device)
    pool = torch.cat([data.train_x, data.val_x])
    with Timer(f"[{method}] fitting PCA-{k} on {len(pool):,} {data_config.name} images") as t:
        pca = fit_pca(pool, k)
    model = PCAAutoencoder(pca)
    value_range = image_format(data_config).value_range
    with Timer(f"[{method}] reconstruction error on {len(data.test_x):,} test images"):
        test = evaluate(model, data.test_x)
    grid = save_reconstruction_grid(model, data.test_x[:16], ctx.img_dir / f"results_{method}.png", value_range)
    from torchvision.utils import save_image

    features = ctx.img_dir / f"features_{method}.png"
    c, h, w = image_format(data_config).shape
    save_image(tile_grid(feature_tiles(pca.components, (c, h, w))), features)
    return make_row(
        method,
        f"PCA-{k}",
        "computed",
        k,
        test=test,
        grid=grid.name,
        features=features.name,
        dataset=data_config.name,
        wall_time_s=t.seconds,
        hardware=describe(ctx.device),
        epochs="closed form",
    )


def _measure(ctx: Context, row: Row, run: RunRef) -> dict[str, Any]:
    """A trained row: its test error on its own data's test images, its grids, its features."""
    data_config = load_run(run.dir, device=ctx.device).config.data
    d = load(data_config, ctx.device)
    data = EvalData(
        d.train_x, d.train_y, torch.cat([d.train_x, d.val_x]), torch.cat([d.train_y, d.val_y]), d.test_x, d.test_y
    )
    out, model = run_row(
        row.method, row.label, run.dir, data, ctx.measure, ctx.img_dir, ctx.device, run.source, run.hardware
    )
    features = save_feature_grid(model, Path(ctx.img_dir) / f"features_{row.method}.png")
    out.update(features=features.name, dataset=data_config.name)
    return out


def _no_data(root: Path | str, device: torch.device) -> None:
    return None  # every row loads its own run's data


DATASETS_TABLE = TableSpec(
    name="datasets",
    file="results_datasets.json",
    title="Beyond MNIST: 8×8 digits and natural-image patches",
    rows=(
        Row("digits8_pca", "digits8_pca", "PCA-10", compute=lambda ctx: pca_row("digits8_pca", DIGITS, ctx)),
        Row(
            "digits8_mlp",
            "digits8_mlp",
            "MLP AE 64-64-10",
            train=partial(overrides, DIGITS),
            folder="datasets/digits8_mlp",
        ),
        Row(
            "patches_pca",
            "patches_pca",
            "PCA-49",
            compute=lambda ctx: pca_row("patches_pca", (*PATCHES, *SPARSE), ctx),
        ),
        Row(
            "patches_sparse",
            "patches_sparse",
            "Sparse AE 64-49-64 (KL, β = 5, ρ = 0.035)",
            train=partial(overrides, (*PATCHES, *SPARSE)),
            folder="datasets/patches_sparse",
        ),
        Row(
            "patches_plain",
            "patches_plain",
            "Plain AE 64-49-64 (no sparsity penalty)",
            train=partial(overrides, (*PATCHES, "ae=plain")),
            folder="datasets/patches_plain",
        ),
    ),
    measure=_measure,
    render=datasets_sections,
    headings=DATASETS_HEADINGS,
    data=_no_data,
    data_title="no shared data (each row loads its own)",
)

__all__ = ["DATASETS_TABLE", "DIGITS", "PATCHES", "SPARSE", "overrides", "pca_row"]
