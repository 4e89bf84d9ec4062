"""Read a run back: ``load_run(dir)`` gives its model (best or last weights), config and metrics,
every file verified against its recorded SHA-256."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from aelab.build import build
from aelab.config import Config, complete_saved, fingerprint, to_config
from aelab.data.load import load
from aelab.errors import CorruptFileError, RunDirError
from aelab.files import sha256_file, write_json
from aelab.images import save_reconstruction_grid
from aelab.metrics import evaluate
from aelab.models.base import Autoencoder
from aelab.training.checkpoint import load_checkpoint
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
    ``best.pt`` only if it is the file last.pt names (else from last.pt itself, e.g. after a kill
    between the two writes). A missing or damaged file is one RunDirError / CorruptFileError."""
    if which not in ("best", "last"):
        raise ValueError(f"which must be 'best' or 'last', got {which!r}")
    run = RunDir(run_dir)
    if not run.path.is_dir():
        raise RunDirError(f"{run.path}: no such run directory")
    last = load_checkpoint(run.last, map_location=device) if run.last.exists() else None
    if last is None and not run.best.exists():
        raise RunDirError(f"{run.path} holds no checkpoints (checkpoints/last.pt, best.pt)")
    if which == "last":
        if last is None:
            raise RunDirError(f"{run.path} has no checkpoints/last.pt")
        state, saved = last["model"], last
    elif run.best.exists() or run.best.is_symlink():
        saved = load_checkpoint(run.best, map_location=device)  # verified: damage is an error, never a fallback
        state = saved.get("model")
        recorded = ((last or {}).get("record") or {}).get("best_sha256")
        if last is not None and recorded and recorded != sha256_file(run.best) and last.get("best_model") is not None:
            # a valid best.pt from an earlier epoch: the run was killed between the two writes
            log.info("%s: best.pt is older than last.pt; the best weights come from last.pt", run.path)
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


def evaluate_run(
    run_dir: str | Path, which: str = "best", device: str | torch.device = "cpu", n_images: int = 16
) -> dict[str, Any]:
    """Reload a run, measure its test metrics, and write ``eval_test.json`` and a reconstruction grid
    (``reconstructions.png``: the first ``n_images`` test digits above their reconstructions) into
    its directory. Returns ``{"checkpoint", "test", "grid"}``."""
    run = load_run(run_dir, which, device)
    data = load(run.config.data, device, limit=1)
    test = evaluate(run.model, data.test_x, run.config.trainer.eval_batch_size)
    grid = save_reconstruction_grid(run.model, data.test_x[:n_images], run.dir / "reconstructions.png")
    write_json(run.dir / "eval_test.json", {"checkpoint": which, "test": test})
    return {"checkpoint": which, "test": test, "grid": str(grid)}


__all__ = ["Run", "evaluate_run", "load_run"]
