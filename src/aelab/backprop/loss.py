"""The lecture's loss and L2 penalty, each with its hand-derived gradient.

* Mini-batch squared error: ``E = 1/(2n) Σ_k ‖f(x_k) − y_k‖²`` with ``∂E/∂f(x_k) = (f(x_k) − y_k)/n``.
  Chained through the output layer's φ' this gives the lecture's ``δ^(L) = (x^(L) − y) ⊙ φ'(z^(L))``
  (scaled by 1/n for the batch mean).
* L2 regularization: ``λ/2 Σ_l ‖W^(l)‖²`` with gradient ``λ W^(l)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import torch
from torch import Tensor


class HalfMSEFunction(torch.autograd.Function):
    """``E = 1/(2n) Σ_k ‖f_k − y_k‖²`` over a batch of n rows (any trailing shape)."""

    @staticmethod
    def forward(f: Tensor, y: Tensor) -> Tensor:
        n = f.shape[0]
        return (f - y).pow(2).sum() / (2 * n)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Tensor) -> None:
        ctx.save_for_backward(*inputs)

    @staticmethod
    def backward(ctx: Any, grad_e: Tensor) -> tuple[Tensor | None, Tensor | None]:
        f, y = ctx.saved_tensors
        residual = (f - y) * (grad_e / f.shape[0])  # ∂E/∂f = (f − y)/n
        return (
            residual if ctx.needs_input_grad[0] else None,
            -residual if ctx.needs_input_grad[1] else None,
        )


class L2PenaltyFunction(torch.autograd.Function):
    """``λ/2 Σ_l ‖W^(l)‖²``; its gradient with respect to each W is ``λ W``."""

    @staticmethod
    def forward(lam: float, *weights: Tensor) -> Tensor:
        return cast(Tensor, 0.5 * lam * sum(w.pow(2).sum() for w in weights))

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Tensor) -> None:
        ctx.lam = inputs[0]
        ctx.save_for_backward(*inputs[1:])

    @staticmethod
    def backward(ctx: Any, grad_e: Tensor) -> tuple[Tensor | None, ...]:
        weights = ctx.saved_tensors
        grads = tuple(ctx.lam * w * grad_e if need else None for w, need in zip(weights, ctx.needs_input_grad[1:]))
        return (None, *grads)


def half_mse(f: Tensor, y: Tensor) -> Tensor:
    """The lecture's mini-batch loss ``1/(2n) Σ‖f(x_k) − y_k‖²`` (hand-written backward)."""
    if f.shape != y.shape:
        raise ValueError(f"prediction and target shapes differ: {tuple(f.shape)} vs {tuple(y.shape)}")
    return HalfMSEFunction.apply(f, y)


def l2_penalty(weights: Iterable[Tensor], lam: float) -> Tensor:
    """``λ/2 Σ‖W‖²`` (hand-written backward ``λW``)."""
    if lam < 0:
        raise ValueError(f"the L2 coefficient λ must be >= 0, got {lam}")
    return L2PenaltyFunction.apply(float(lam), *weights)
