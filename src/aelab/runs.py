"""Read a run back: ``load_run(dir)`` gives its model (best or last weights), config and metrics,
every file verified against its recorded SHA-256 — also while the run is still writing them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from aelab.build import build
from aelab.codespace import save_code_space
from aelab.config import Config, complete_saved, fingerprint, to_config
from aelab.data import class_names, image_format
from aelab.data.load import load
from aelab.errors import AelabError, CorruptFileError, RunDirError
from aelab.features import save_feature_grid
from aelab.files import check_can_create, os_error, read_verified, sha256, shown, write_json
from aelab.images import save_reconstruction_grid
from aelab.metrics import evaluate
from aelab.models.base import Autoencoder
from aelab.training.checkpoint import checkpoint_from_bytes, load_checkpoint
from aelab.training.rundir import RunDir

log = logging.getLogger("aelab.runs")


@dataclass
class Run:
    """A finished or unfinished run: its directory, model (eval mode), config and metrics."""

    dir: Path
    model: Autoencoder
    config: Config
    metrics: dict[str, Any]
    which: str  # the weights loaded: "best" or "last"


def load_run(run_dir: str | Path, which: str = "best", device: str | torch.device = "cpu") -> Run:
    """The run in ``run_dir`` with its ``best`` (lowest validation error) or ``last`` weights.

    ``last.pt`` is the run's truth: the metrics come from its record, and the best weights from
    ``best.pt`` only if its bytes are the ones last.pt's record names (else from last.pt itself:
    after a kill between the two writes, or a best.pt the live run rewrote after last.pt was read).
    A missing, damaged or unreadable file is one RunDirError / CorruptFileError / AelabError."""
    if which not in ("best", "last"):
        raise ValueError(f"which must be 'best' or 'last', got {which!r}")
    try:
        return _load_run(RunDir(run_dir), which, device)
    except OSError as err:  # no permission, a name too long: one line naming the path
        raise os_error(err, doing="read") from None


def _load_run(run: RunDir, which: str, device: str | torch.device) -> Run:
    if not run.path.is_dir():
        raise RunDirError(f"{shown(run.path)}: no such run directory")
    last = load_checkpoint(run.last, map_location=device) if run.last.exists() else None
    if last is None and not run.best.exists():
        raise RunDirError(f"{run.path} holds no checkpoints (checkpoints/last.pt, best.pt)")
    if which == "last":
        if last is None:
            raise RunDirError(f"{run.path} has no checkpoints/last.pt")
        state, saved = last["model"], last
    elif run.best.exists() or run.best.is_symlink():
        data = read_verified(run.best)  # verified: damage is an error, never a fallback
        saved = checkpoint_from_bytes(data, run.best, device)
        state = saved.get("model")
        recorded = ((last or {}).get("record") or {}).get("best_sha256")
        if last is not None and recorded and recorded != sha256(data) and last.get("best_model") is not None:
            # a valid best.pt of another epoch than last.pt's record: killed between the two writes,
            # or the live run moved on after last.pt was read; last.pt's own copy matches its record
            log.info("%s: best.pt is not the one last.pt names; the best weights come from last.pt", run.path)
            state, saved = last["best_model"], last
    elif last is not None and last.get("best_model") is not None:
        log.info("%s: best.pt is missing; the best weights come from last.pt", run.path)
        state, saved = last["best_model"], last
    else:
        raise RunDirError(f"{run.path} has no best weights yet (no checkpoints/best.pt: no epoch finished)")
    if not isinstance(saved.get("config"), dict) or not isinstance(state, dict):
        raise CorruptFileError(f"{run.path}: the checkpoint holds no config or weights")
    values = complete_saved(saved["config"])  # every key as the run trained (or refused, naming it)
    config = to_config(values)
    model = build(config).to(device)
    model.load_state_dict(state)
    record = (last or {}).get("record") or {}
    metrics = {**record, "hparams": values, "config_fingerprint": fingerprint(values)}
    return Run(run.path, model.eval(), config, metrics, which)


def _check_writable(folder: Path, is_run_dir: bool) -> None:
    """Refuse, before anything is measured, a folder the evaluation's files cannot be written into."""
    try:
        check_can_create(folder)
    except AelabError as err:
        if not is_run_dir:
            raise
        raise RunDirError(
            f"{err}; write eval_test.json, reconstructions.png and features.png elsewhere with --out DIR"
        ) from None


def evaluate_run(
    run_dir: str | Path,
    which: str = "best",
    device: str | torch.device = "cpu",
    n_images: int = 16,
    out_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Reload a run, measure its test metrics, and write ``eval_test.json``, a reconstruction grid
    (``reconstructions.png``: the first ``n_images`` test images above their reconstructions), the
    first layer's filters (``features.png``, :mod:`aelab.features`) and the code space
    (``codes.png``: the test images' codes in 2-D, coloured by class, :mod:`aelab.codespace`) into
    ``out_dir`` (default: the run's directory; a read-only one is refused before anything is
    measured). Returns ``{"checkpoint", "test", "grid", "features", "codes"}``."""
    run = load_run(run_dir, which, device)
    out = Path(out_dir).expanduser().absolute() if out_dir is not None else run.dir
    try:
        _check_writable(out, out_dir is None)
        data = load(run.config.data, device, limit=1)
        codes = save_code_space(run.model, data.test_x, data.test_y, class_names(run.config.data), out / "codes.png")
        test = evaluate(run.model, data.test_x, run.config.trainer.eval_batch_size)
        value_range = image_format(run.config.data).value_range
        grid = save_reconstruction_grid(run.model, data.test_x[:n_images], out / "reconstructions.png", value_range)
        features = save_feature_grid(run.model, out / "features.png")
        write_json(out / "eval_test.json", {"checkpoint": which, "test": test})
    except OSError as err:
        raise os_error(err) from None
    return {"checkpoint": which, "test": test, "grid": str(grid), "features": str(features), "codes": str(codes)}


__all__ = ["Run", "evaluate_run", "load_run"]
