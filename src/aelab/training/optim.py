"""Optimizers and LR schedules from the config, all torch.optim.

The lecture's update with inertia and L2 regularization,

    ΔW(t+1) = β(−α(∇E + λW)) + (1 − β) ΔW(t),      W(t+1) = W(t) + ΔW(t+1),

is exactly ``torch.optim.SGD(lr=α, momentum=1−β, dampening=1−β, weight_decay=λ)``: SGD keeps
``buf = (1−β)·buf + (1−dampening)·(∇E + λW) = (1−β)·buf + β(∇E + λW)`` and steps ``W −= α·buf``,
so ``ΔW = −α·buf``. (The λW term is the gradient of ``λ/2 Σ‖W‖²``.) torch starts the buffer at the
first gradient, undamped; the lecture starts from ``ΔW(0) = 0``, so the buffers are preset to zero.
"""

from __future__ import annotations

import math
from typing import Any

import torch


def scaled_lr(cfg: Any, batch_size: int | None) -> float:
    """``optimizer.lr`` is tuned at ``optimizer.base_batch_size`` B₀; at batch size B use
    ``lr·B/B₀`` (``lr_scaling=linear``: plain SGD then takes the same step per sample seen) or
    ``lr·√(B/B₀)`` (``sqrt``: the gradient noise's scale falls as 1/√B; the usual rule for Adam)."""
    rule = cfg.lr_scaling
    if rule == "none" or batch_size is None:
        return float(cfg.lr)
    ratio = batch_size / cfg.base_batch_size
    return float(cfg.lr) * (ratio if rule == "linear" else math.sqrt(ratio))


def build_optimizer(
    cfg: Any, params: Any, capturable: bool = False, batch_size: int | None = None
) -> torch.optim.Optimizer:
    """``capturable``: for a CUDA-graph captured step; the LR is then a device tensor so the
    schedule's per-step updates (``fill_``) reach the captured update. ``batch_size``: the
    training batch, for ``optimizer.lr_scaling``. ``optimizer.fused``: torch.optim's fused kernel,
    the same update (up to float rounding, not bit for bit) in one pass over the parameters instead
    of a loop of small ops per tensor (on this project's 2-core CPU, ~3x faster AdamW steps)."""
    params = list(params)
    lr: float | torch.Tensor = scaled_lr(cfg, batch_size)
    if capturable:
        lr = torch.tensor(lr, device=params[0].device)
    name = cfg.name
    # only when asked: older torch has no fused CPU kernels (and SGD no fused= at all)
    fused: dict[str, Any] = {"fused": True} if cfg.fused else {}
    if name == "sgd":
        beta = float(cfg.beta)
        sgd = torch.optim.SGD(
            params, lr=lr, momentum=1 - beta, dampening=1 - beta, weight_decay=cfg.weight_decay, **fused
        )
        if beta < 1:  # ΔW(0) = 0, so the first step is β(−α(∇E + λW)) as the formula says
            for group in sgd.param_groups:
                for p in group["params"]:
                    sgd.state[p]["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        return sgd
    if name == "adam":
        # AdamW: decoupled weight decay, the variant that regularizes as intended with Adam.
        return torch.optim.AdamW(
            params, lr=lr, eps=cfg.eps, weight_decay=cfg.weight_decay, capturable=capturable, **fused
        )
    raise ValueError(f"unknown optimizer {name!r}; optimizer must be one of: sgd, adam")


def build_scheduler(cfg: Any, optimizer: torch.optim.Optimizer, total_steps: int, batch_size: int | None = None) -> Any:
    """A per-step LR schedule (``scheduler.step()`` after every optimizer step), or None. Its peak
    is the LR scaled to ``batch_size``, as in ``build_optimizer``."""
    name = cfg.schedule
    if name == "none":
        return None
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(total_steps, 1))
    if name == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=scaled_lr(cfg, batch_size),
            total_steps=max(total_steps, 1),
            pct_start=cfg.warmup_fraction,
            anneal_strategy=cfg.anneal_strategy,
        )
    raise ValueError(f"unknown schedule {name!r}; schedule must be one of: none, cosine, onecycle")
