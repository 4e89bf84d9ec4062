"""Checks of the hand-written Function against torch autograd, shared by the tests and
``scripts/verify_backprop.py``.

Errors are reported as a relative error per tensor, ``max|ours − ref| / max|ref|``, maximised over
the output and every gradient (an elementwise ratio would explode on entries that are ~0).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.autograd import gradcheck, gradgradcheck

from aelab.backprop.activations import ACTIVATIONS, get_activation
from aelab.backprop.function import linear_act
from aelab.backprop.linear import LectureLinear
from aelab.backprop.loss import half_mse


def rel_err(ours: Tensor, ref: Tensor) -> float:
    """``max|ours − ref| / max|ref|`` (absolute error when ref is all zeros)."""
    diff = (ours.detach() - ref.detach()).abs().max().item()
    scale = ref.detach().abs().max().item()
    return diff / scale if scale > 0 else diff


def _stack(sizes: list[int], activation: str, lecture: bool, dtype: torch.dtype) -> nn.Sequential:
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        if lecture:
            layers.append(LectureLinear(n_in, n_out, activation))
        else:
            layers += [nn.Linear(n_in, n_out), get_activation(activation).torch_module()]
    return nn.Sequential(*layers).to(dtype)


def error_vs_autograd(
    activation: str, dtype: torch.dtype, depth: int = 8, width: int = 32, batch: int = 16, seed: int = 0
) -> float:
    """An 8-layer stack of LectureLinear against nn.Linear + torch activation with the same
    weights: the max relative error over the output, ∂E/∂x and every ∂E/∂W, ∂E/∂b."""
    torch.manual_seed(seed)
    sizes = [width] * (depth + 1)
    ours = _stack(sizes, activation, True, dtype)
    ref = _stack(sizes, activation, False, dtype)
    with torch.no_grad():  # same weights in both (the native stack interleaves activation modules)
        for p_ref, p_ours in zip(ref.parameters(), ours.parameters(), strict=True):
            p_ref.copy_(p_ours)
    x = torch.randn(batch, width, dtype=dtype)
    target = torch.rand(batch, width, dtype=dtype)
    results = []
    for net in (ours, ref):
        xi = x.clone().requires_grad_()
        out = net(xi)
        loss = 0.5 * (out - target).pow(2).sum() / batch
        grads = torch.autograd.grad(loss, [xi, *net.parameters()])
        results.append([out, *grads])
    return max(rel_err(a, b) for a, b in zip(*results))


def _phi_prime_from_z(activation: str, z: Tensor) -> Tensor:
    """φ'(z) differentiated from φ itself (elementwise, so ∂Σφ(z)/∂z = φ'(z)): independent of the
    hand-written φ'(a) that the Function uses, which is what the recursion check compares against."""
    z = z.detach().requires_grad_()
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(get_activation(activation).phi(z).sum(), z)
    return grad


def hand_recursion_error(
    activation: str, sizes: tuple[int, ...] = (6, 5, 4, 3), batch: int = 7, seed: int = 0
) -> float:
    """A 3-layer net's gradients from the lecture's recursion, no autograd at all:

        δ^(L) = (x^(L) − y) ⊙ φ'(z^(L)) / n
        δ^(l) = (W^(l+1)ᵀ δ^(l+1)) ⊙ φ'(z^(l))
        ∂E/∂W^(l+1) = δ^(l+1) x^(l)ᵀ,   ∂E/∂b^(l+1) = δ^(l+1)

    compared with the Function's gradients of ``E = 1/(2n) Σ‖x^(L) − y‖²``.
    """
    g = torch.Generator().manual_seed(seed)
    dt = torch.float64
    weights = [torch.randn(o, i, generator=g, dtype=dt) / i**0.5 for i, o in zip(sizes[:-1], sizes[1:])]
    biases = [torch.randn(o, generator=g, dtype=dt) * 0.1 for o in sizes[1:]]
    x0 = torch.randn(batch, sizes[0], generator=g, dtype=dt)
    y = torch.rand(batch, sizes[-1], generator=g, dtype=dt)
    phi = get_activation(activation).phi

    # Forward, keeping every z^(l) and x^(l); examples are rows, so W x becomes x Wᵀ.
    xs, zs = [x0], []
    for w, b in zip(weights, biases):
        zs.append(xs[-1] @ w.t() + b)
        xs.append(phi(zs[-1]))
    # Backward by the lecture's recursion.
    delta = (xs[-1] - y) * _phi_prime_from_z(activation, zs[-1]) / batch
    hand_w: list[Tensor] = []
    hand_b: list[Tensor] = []
    for layer in reversed(range(len(weights))):
        hand_w.insert(0, delta.t() @ xs[layer])
        hand_b.insert(0, delta.sum(0))
        if layer > 0:
            delta = (delta @ weights[layer]) * _phi_prime_from_z(activation, zs[layer - 1])

    # The same net through the Function (LectureLinear) and the lecture's loss.
    net = _stack(list(sizes), activation, True, dt)
    layers = [m for m in net if isinstance(m, LectureLinear)]
    with torch.no_grad():
        for module, w, b in zip(layers, weights, biases):
            module.weight.copy_(w)
            module.bias.copy_(b)
    half_mse(net(x0), y).backward()
    errors = []
    for module, w, b in zip(layers, hand_w, hand_b):
        assert module.weight.grad is not None and module.bias.grad is not None
        errors += [rel_err(module.weight.grad, w), rel_err(module.bias.grad, b)]
    return max(errors)


def gradchecks(activation: str, batch: int = 4, n_in: int = 5, n_out: int = 3) -> tuple[bool, bool]:
    """(gradcheck, gradgradcheck) in float64 with check_batched_grad, bias included."""
    g = torch.Generator().manual_seed(1)
    args = tuple(
        torch.randn(*s, generator=g, dtype=torch.float64).requires_grad_()
        for s in ((batch, n_in), (n_out, n_in), (n_out,))
    )
    fn: Callable[..., Tensor] = lambda x, w, b: linear_act(x, w, b, activation)  # noqa: E731
    ok1 = gradcheck(fn, args, check_batched_grad=True, raise_exception=False)
    ok2 = gradgradcheck(fn, args, check_batched_grad=True, raise_exception=False)
    return ok1, ok2


def saved_bytes(fn: Callable[[], Tensor]) -> int:
    """Bytes of every tensor autograd saves for backward while ``fn`` runs."""
    total = 0

    def pack(t: Tensor) -> Tensor:
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return total


def saved_bytes_vs_native(
    activation: str, sizes: tuple[int, ...] = (64, 48, 32, 16), batch: int = 32
) -> tuple[int, int]:
    """(bytes the Function stack saves, bytes nn.Linear + activation saves) for the same net,
    input not requiring grad (a first layer)."""
    torch.manual_seed(0)
    x = torch.randn(batch, sizes[0])
    ours = _stack(list(sizes), activation, True, torch.float32)
    ref = _stack(list(sizes), activation, False, torch.float32)
    return saved_bytes(lambda: ours(x)), saved_bytes(lambda: ref(x))


__all__ = [
    "ACTIVATIONS",
    "error_vs_autograd",
    "gradchecks",
    "hand_recursion_error",
    "rel_err",
    "saved_bytes",
    "saved_bytes_vs_native",
]
