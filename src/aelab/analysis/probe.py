"""Linear probe: how linearly separable the classes are in a code space.

Codes are standardised with the training mean and std, u = (z − m) / s, then a multinomial
logistic regression p(y | u) = softmax(W u + b) is fitted by full-batch L-BFGS on
L = −(1/N) Σ log p(yₙ | uₙ) + λ ‖W‖²; the objective is convex and the start is zero, so the
result is deterministic.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def linear_probe_accuracy(
    train_codes: Tensor,
    train_labels: Tensor,
    test_codes: Tensor,
    test_labels: Tensor,
    *,
    l2: float = 1e-4,
    max_iter: int = 500,
) -> float:
    """Test accuracy in [0, 1] of a logistic regression fitted to (train_codes, train_labels)."""
    train_codes, test_codes = train_codes.detach().flatten(1).float(), test_codes.detach().flatten(1).float()
    train_labels, test_labels = train_labels.to(train_codes.device), test_labels.to(test_codes.device)
    mean, std = train_codes.mean(0), train_codes.std(0)
    std = torch.where(std > 1e-8, std, torch.ones_like(std))
    u_train, u_test = (train_codes - mean) / std, (test_codes.to(mean) - mean) / std
    n_classes = int(max(train_labels.max(), test_labels.max())) + 1
    weight = torch.zeros(u_train.shape[1], n_classes, device=u_train.device, requires_grad=True)
    bias = torch.zeros(n_classes, device=u_train.device, requires_grad=True)
    opt = torch.optim.LBFGS(
        [weight, bias],
        max_iter=max_iter,
        history_size=20,
        tolerance_grad=1e-6,
        tolerance_change=1e-9,
        line_search_fn="strong_wolfe",
    )

    def closure() -> Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(u_train @ weight + bias, train_labels) + l2 * weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    with torch.no_grad():
        pred = (u_test @ weight + bias).argmax(1)
    return float((pred == test_labels.to(pred.device)).float().mean())
