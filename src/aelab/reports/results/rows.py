"""A table's rows, measured the same way for every method: a trained run's row (reconstruction error
with the kind's own test metrics, grid, epochs, wall time, hardware; :func:`run_row`), an
autoencoder's row with its code metrics (:func:`autoencoder_row`), PCA-30's and the pixels' rows,
and the images of reconstructions."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from aelab.analysis import PCA, PCAEncoder, fit_pca, precision_at_k
from aelab.config import compose, to_dict
from aelab.data import image_format
from aelab.hardware import describe
from aelab.images import save_reconstruction_grid
from aelab.metrics import evaluate
from aelab.models.base import AEOutput
from aelab.reports.results.measure import EvalData, Settings, Timer, code_encoder, code_metrics, limit
from aelab.reports.results.methods import AE_METHODS, CODE_DIM, method_overrides
from aelab.runs import load_run

log = logging.getLogger("aelab.results")


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


def _test_error(model: nn.Module, data: EvalData, settings: Settings, label: str) -> dict[str, float]:
    """``evaluate`` on the test images: sq_err_per_image and the kind's own metrics (a VAE's neg_elbo)."""
    n_test = limit(settings.test_images, len(data.test_x))
    with Timer(f"[{label}] reconstruction error on {n_test:,} test images"):
        test = evaluate(model, data.test_x[:n_test])
    log.info("[%s] test sq_err_per_image %.3f", label, test["sq_err_per_image"])
    return test


def _reconstruction(
    model: nn.Module,
    data: EvalData,
    settings: Settings,
    img_dir: Path,
    method: str,
    label: str,
    value_range: tuple[float, float] | None = (0.0, 1.0),
) -> tuple[dict[str, float], str]:
    """The test error, and the grid ``results_<method>.png`` (real values shown as
    :func:`aelab.images.shown` says)."""
    test = _test_error(model, data, settings, label)
    grid = save_reconstruction_grid(
        model, data.test_x[: settings.grid_images], img_dir / f"results_{method}.png", value_range
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
    n_db, n_queries = limit(settings.database, len(data.pool_x)), limit(settings.queries, len(data.test_x))
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
        value_range = image_format(run.config.data).value_range
        test, grid_name = _reconstruction(model, data, settings, img_dir, method, method, value_range)
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


__all__ = [
    "PCAAutoencoder",
    "autoencoder_row",
    "make_row",
    "pca_row",
    "pixels_row",
    "reconstructions",
    "run_row",
    "save_image_rows",
]
