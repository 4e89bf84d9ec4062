"""Transfer to classification with few labels: pretrained lower layers reused, a head on top.

A head h (linear, or one hidden ReLU layer) maps the encoder's code to class logits,
p(y | x) = softmax(h(f(x))), trained with Adam on the mean cross-entropy of n_labels labelled
images. ``frozen=True`` keeps the pretrained encoder f fixed and trains only h; ``frozen=False``
trains a freshly initialised copy of the same architecture together with h (the from-scratch
baseline).
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def balanced_subset(labels: Tensor, n: int, seed: int = 0) -> Tensor:
    """Indices of n items, as class-balanced as the data allow: a seeded shuffle, then items in
    order of their rank within their class (every class's 1st item, then every class's 2nd, …)."""
    if not 1 <= n <= len(labels):
        raise ValueError(f"n must be in [1, {len(labels)}], got {n}")
    perm = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    y = labels.cpu()[perm]
    rank = torch.empty_like(y)
    for c in y.unique():
        where = (y == c).nonzero().squeeze(1)
        rank[where] = torch.arange(len(where))
    order = torch.argsort(rank * (int(y.max()) + 1) + y, stable=True)
    return perm[order[:n]]


def _reinitialize(module: nn.Module) -> nn.Module:
    """A deep copy with every submodule that has ``reset_parameters`` re-initialised."""
    module = copy.deepcopy(module)
    for m in module.modules():
        reset = getattr(m, "reset_parameters", None)
        if callable(reset):
            reset()
    return module


class _Rescale(nn.Module):
    """u = (z − m) / σ with the mean m of the given codes and one scale σ = √(mean per-dim variance):
    an isotropic rescaling, so the code space's geometry (and a head's implicit bias) is kept."""

    mean: Tensor
    scale: Tensor

    def __init__(self, codes: Tensor) -> None:
        super().__init__()
        scale = codes.var(0).mean().sqrt() if len(codes) > 1 else codes.new_ones(())
        self.register_buffer("mean", codes.mean(0))
        self.register_buffer("scale", scale if scale > 1e-8 else codes.new_ones(()))

    def forward(self, z: Tensor) -> Tensor:
        return (z - self.mean) / self.scale


@torch.no_grad()
def _accuracy(model: nn.Module, x: Tensor, y: Tensor, batch_size: int = 2048) -> float:
    model.eval()
    correct = sum(
        int((model(x[i : i + batch_size]).argmax(1) == y[i : i + batch_size]).sum())
        for i in range(0, len(x), batch_size)
    )
    return correct / len(x)


def transfer_accuracy(
    encoder: nn.Module,
    code_dim: int,
    train_x: Tensor,
    train_y: Tensor,
    test_x: Tensor,
    test_y: Tensor,
    n_labels: int,
    *,
    frozen: bool,
    epochs: int = 20,
    min_steps: int = 1000,
    batch_size: int = 128,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    hidden: int = 0,
    seed: int = 0,
) -> float:
    """Test accuracy in [0, 1] of encoder + head trained on a seeded class-balanced subset of
    n_labels training images (see :func:`balanced_subset`).

    The budget is max(min_steps, epochs · ⌈n_labels / batch_size⌉) Adam steps, so tiny label sets
    still get enough updates. Training runs on train_x's device; the caller's encoder is not modified.
    With ``frozen=True`` the codes are computed once in eval mode, centred and rescaled by one
    factor from the labelled codes (so the head's step size suits any code scale without changing
    the code space's geometry), and only the head is trained.
    """
    device = train_x.device
    n_classes = int(max(train_y.max(), test_y.max())) + 1
    idx = balanced_subset(train_y, n_labels, seed).to(device)
    x, y = train_x[idx], train_y.to(device)[idx]
    test_y = test_y.to(device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        head: nn.Module = (
            nn.Linear(code_dim, n_classes)
            if hidden == 0
            else nn.Sequential(nn.Linear(code_dim, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))
        )
        body = copy.deepcopy(encoder) if frozen else _reinitialize(encoder)
    head, body = head.to(device), body.to(device)
    if frozen:
        body.eval().requires_grad_(False)
        with torch.no_grad():
            codes = torch.cat([body(x[i : i + 2048]) for i in range(0, len(x), 2048)])
        scale = _Rescale(codes)
        x = scale(codes)
        model, train_model = nn.Sequential(body, scale, head), head
    else:
        model = train_model = nn.Sequential(body, head)
    opt = torch.optim.Adam(train_model.parameters(), lr=lr, weight_decay=weight_decay)
    batch_size = min(batch_size, n_labels)
    steps = max(min_steps, epochs * math.ceil(n_labels / batch_size))
    g = torch.Generator().manual_seed(seed)
    train_model.train()
    perm, pos = torch.randperm(n_labels, generator=g), 0
    for _ in range(steps):
        if pos >= n_labels:  # a fresh permutation every epoch
            perm, pos = torch.randperm(n_labels, generator=g), 0
        b = perm[pos : pos + batch_size].to(device)
        pos += batch_size
        loss = F.cross_entropy(train_model(x[b]), y[b])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return _accuracy(model, test_x.to(device), test_y)
