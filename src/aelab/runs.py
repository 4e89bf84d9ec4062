"""Read a finished (or interrupted) run back: its metrics, config and best model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from aelab.checkpoint import load_checkpoint
from aelab.models import Autoencoder, build_model
from aelab.train import _model_kwargs, read_metrics  # noqa: F401  (re-exported)


def model_from_config(config: dict[str, Any]) -> Autoencoder:
    """The architecture a run's (plain) config describes, freshly initialised."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.create(config)
    return build_model(config["model"]["family"], **_model_kwargs(cfg))


def load_run_model(run_dir: str | Path, which: str = "best", device: str | torch.device = "cpu"
                   ) -> tuple[Autoencoder, dict[str, Any]]:
    """``(model with the run's best.pt or last.pt weights, the run's plain config)``, eval mode."""
    path = Path(run_dir) / "checkpoints" / f"{which}.pt"
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    ckpt = load_checkpoint(path, map_location=device)
    model = model_from_config(ckpt["config"]).to(device)
    model.load_state_dict(ckpt["model"])
    return model.eval(), ckpt["config"]
