"""Evaluate an autoencoder on a tensor of images: the comparable metrics of every run."""

from __future__ import annotations

import torch
from torch import Tensor

from aelab.metrics import ReconstructionMeter
from aelab.models import Autoencoder


@torch.no_grad()
def evaluate(model: Autoencoder, images: Tensor, batch_size: int = 1000) -> dict[str, float]:
    """``sq_err_per_image``, per-pixel ``mse`` and ``bce`` over ``images`` (eval mode, no grad)."""
    was_training = model.training
    model.eval()
    meter = ReconstructionMeter()
    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size]
        out = model(x)
        meter.update(out.recon, x, out.logits if getattr(model, "output_activation", "sigmoid") == "sigmoid" else None)
    model.train(was_training)
    return meter.compute()
