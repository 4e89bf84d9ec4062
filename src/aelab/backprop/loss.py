"""The lecture's loss and L2 penalty, each with its hand-derived gradient.

* Mini-batch squared error: ``E = 1/(2n) Σ_k ‖f(x_k) − y_k‖²`` with ``∂E/∂f(x_k) = (f(x_k) − y_k)/n``.
  Chained through the output layer's φ' this gives the lecture's ``δ^(L) = (x^(L) − y) ⊙ φ'(z^(L))``
  (scaled by 1/n for the batch mean).
* Cross-entropy on a sigmoid output, from its logits z (x^(L) = σ(z)):
  ``E = −1/n Σ_k Σ_p [y log σ(z) + (1 − y) log(1 − σ(z))]`` with ``∂E/∂z = (σ(z) − y)/n``. Here
  σ'(z) = σ(1 − σ) cancels the loss's 1/(σ(1 − σ)): the output layer's δ is the lecture's
  ``δ^(L) = (x^(L) − y)`` without the φ' factor that makes a saturated sigmoid output learn slowly.
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


class BCEWithLogitsFunction(torch.autograd.Function):
    """``E = 1/n Σ_k Σ_p [log(1 + e^z) − y z]`` over a batch of n rows of logits z (any trailing
    shape): the cross-entropy of σ(z) against targets y in [0, 1]."""

    @staticmethod
    def forward(z: Tensor, y: Tensor) -> Tensor:
        # log(1 + e^z) = max(z, 0) + log(1 + e^−|z|): no overflow for large |z|. log(1 + ·) rather
        # than log1p: torch's CPU log1p kernel is scalar (10x slower than log on 100k values), and
        # where e^−|z| < 2^−24 rounds 1 + e^−|z| to 1 it drops less than fp32 keeps of the sum.
        e = z.abs().neg_().exp_().add_(1).log_()
        e.add_(z.clamp_min(0)).sub_(y * z)
        return e.sum() / z.shape[0]

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Tensor) -> None:
        ctx.save_for_backward(*inputs)

    @staticmethod
    def backward(ctx: Any, grad_e: Tensor) -> tuple[Tensor | None, Tensor | None]:
        z, y = ctx.saved_tensors
        n = z.shape[0]
        # ∂E/∂z = (σ(z) − y)/n: the output layer's δ, x^(L) − y. ∂E/∂y = −z/n.
        grad_z = (torch.sigmoid(z) - y) * (grad_e / n) if ctx.needs_input_grad[0] else None
        grad_y = -z * (grad_e / n) if ctx.needs_input_grad[1] else None
        return grad_z, grad_y


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


def bce_with_logits(z: Tensor, y: Tensor) -> Tensor:
    """The cross-entropy of ``σ(z)`` against ``y``, summed over each row and averaged over the n
    rows, from the logits z (hand-written backward ``(σ(z) − y)/n``)."""
    if z.shape != y.shape:
        raise ValueError(f"logits and target shapes differ: {tuple(z.shape)} vs {tuple(y.shape)}")
    return BCEWithLogitsFunction.apply(z, y)


def l2_penalty(weights: Iterable[Tensor], lam: float) -> Tensor:
    """``λ/2 Σ‖W‖²`` (hand-written backward ``λW``)."""
    if lam < 0:
        raise ValueError(f"the L2 coefficient λ must be >= 0, got {lam}")
    return L2PenaltyFunction.apply(float(lam), *weights)
