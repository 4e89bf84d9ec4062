"""Reconstruction metrics every run reports, whatever loss it trains with, and :func:`evaluate`.

``sq_err_per_image``: Σ over the C·H·W values of an image of (x̂ − x)², averaged over images
(Hinton & Salakhutdinov's measure, with pixels in [0, 1]: PCA-30 gives 13.87 on the MNIST test
set). ``mse`` is the same per value, ``bce`` the binary cross-entropy per value, defined for pixels
in [0, 1] only: on real-valued data (standardized or whitened patches) it is NaN.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor


class ReconstructionMeter:
    """Accumulates per-image squared error, per-pixel MSE and BCE over batches, on the device
    (one host sync at :meth:`compute`)."""

    def __init__(self) -> None:
        self.sq_err: Tensor | float = 0.0
        self.bce: Tensor | float = 0.0
        self.outside: Tensor | bool = False  # a target value outside [0, 1]: no BCE
        self.n_images = 0
        self.n_pixels = 0

    @torch.no_grad()
    def update(self, recon: Tensor, target: Tensor, logits: Tensor | None = None) -> None:
        recon, target = recon.float().flatten(1), target.float().flatten(1)
        self.sq_err = self.sq_err + (recon - target).pow(2).sum()
        if logits is not None:
            bce = F.binary_cross_entropy_with_logits(logits.float().flatten(1), target, reduction="sum")
        else:  # −[t log p + (1 − t) log(1 − p)], written out: F.binary_cross_entropy refuses t ∉ [0, 1]
            p = recon.clamp(1e-7, 1 - 1e-7)
            bce = -(target * p.log() + (1 - target) * (-p).log1p()).sum()
        self.bce = self.bce + bce
        self.outside = self.outside | (target.min() < 0) | (target.max() > 1)
        self.n_images += recon.shape[0]
        self.n_pixels += recon.numel()

    def compute(self) -> dict[str, float]:
        if self.n_images == 0:
            raise ValueError("no images were measured")
        sq_err = float(self.sq_err)
        return {
            "sq_err_per_image": sq_err / self.n_images,
            "mse": sq_err / self.n_pixels,
            "bce": float("nan") if bool(self.outside) else float(self.bce) / self.n_pixels,
        }


EVAL_SEED = 1234  # the noise of evaluation-time corruption and sampling: the same every epoch


@torch.no_grad()
def evaluate(model: Any, images: Tensor, batch_size: int = 1000) -> dict[str, float]:
    """``sq_err_per_image``, per-pixel ``mse`` and ``bce`` of ``model`` over ``images`` (eval mode,
    no grad); the BCE is on the logits when the model's output is σ(logits). The model's
    autoencoder kind adds its own metrics, per image (``corrupted_sq_err_per_image`` for
    ``ae=denoising``, ``neg_elbo`` and ``kl`` for ``ae=vae``), drawing any noise from its own
    seeded generator: evaluating never touches the training's random numbers."""
    was_training = model.training
    model.eval()
    meter = ReconstructionMeter()
    sigmoid = model.output_activation == "sigmoid"
    kind = getattr(model, "kind", None)
    generator = torch.Generator(device=images.device).manual_seed(EVAL_SEED)
    extra: dict[str, Tensor] = {}
    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size]
        out = model(x)
        meter.update(out.recon, x, out.logits if sigmoid else None)
        if kind is not None:
            for key, value in kind.eval_sums(model, x, out, generator).items():
                extra[key] = extra[key] + value if key in extra else value
    model.train(was_training)
    metrics = meter.compute()
    if extra:  # one host sync for all of them
        values = torch.stack([v.float() for v in extra.values()]).cpu().tolist()
        metrics.update({k: v / meter.n_images for k, v in zip(extra, values)})
    return metrics


def sq_err_per_image(recon: Tensor, target: Tensor) -> float:
    """Σ over an image's C·H·W values of (x̂ − x)², averaged over images."""
    return float((recon.float().flatten(1) - target.float().flatten(1)).pow(2).sum(1).mean())
