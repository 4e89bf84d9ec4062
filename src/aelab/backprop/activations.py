"""The lecture's activations: each entry gives φ and φ' side by side (micrograd style).

Every φ' here is computed from the layer's *output* ``a = φ(z)``, never from ``z``:

==============  =========================  =================================================
name            φ(z)                       φ'(z) written with a = φ(z)
==============  =========================  =================================================
identity        z                          1
sigmoid         1 / (1 + e^−z)             φ(1 − φ) = a(1 − a)
relu            max(0, z)                  1[a > 0]
softplus        log(1 + e^z)               σ(z) = 1 − e^(−a)      (since e^a = 1 + e^z)
tanh            tanh z                     1 − a²
leaky_relu      max(z, s·z), 0 < s < 1     1 if a > 0 else s      (a and z share their sign)
==============  =========================  =================================================

Because φ' needs only ``a``, the layer saves nothing that the next layer does not already hold
(its input is the previous layer's saved output), which keeps memory at or below native autograd.
All φ' functions use differentiable torch ops, so the backward pass can itself be differentiated
(``gradgradcheck``).

The backward needs φ' only inside δ = g ⊙ φ'(z). For ReLU that product is "g where a > 0, else 0",
which one fused kernel computes (``delta_from_output``) instead of building the 0/1 tensor φ' and
multiplying: the same numbers, one pass over memory instead of three, no temporary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

LEAKY_RELU_SLOPE = 0.01  # torch's default negative slope, so the native twin matches exactly


@dataclass(frozen=True)
class Activation:
    """One activation: the forward map φ and its derivative φ' expressed through the output."""

    name: str
    phi: Callable[[Tensor], Tensor]
    # φ'(z) as a function of a = φ(z); None means φ' ≡ 1 (nothing to save, nothing to multiply).
    dphi_from_output: Callable[[Tensor], Tensor] | None
    # The equivalent native torch module, used by the `impl=torch` twins and the tests.
    torch_module: Callable[[], torch.nn.Module]
    # In-place φ for the forward pass (saves one allocation per layer); None: use `phi`.
    phi_: Callable[[Tensor], Tensor] | None = None
    # δ = g ⊙ φ'(z) from (g, a) in one fused op, equal to g * dphi_from_output(a); None: that product.
    delta_from_output: Callable[[Tensor, Tensor], Tensor] | None = None

    def delta(self, g: Tensor, a: Tensor) -> Tensor:
        """The lecture's δ = g ⊙ φ'(z), with φ' read off the layer's output a = φ(z)."""
        if self.dphi_from_output is None:
            return g
        if self.delta_from_output is not None:
            return self.delta_from_output(g, a)
        return g * self.dphi_from_output(a)


def _sigmoid_grad(a: Tensor) -> Tensor:
    return a * (1 - a)


def _relu_grad(a: Tensor) -> Tensor:
    return (a > 0).to(a.dtype)


def _relu_delta(g: Tensor, a: Tensor) -> Tensor:
    # g ⊙ 1[a > 0] in one pass: aten's threshold_backward(g, a, 0) is exactly "g where a > 0, else 0"
    # (the kernel native ReLU's backward runs), and it is differentiable, so gradgradcheck holds.
    return torch.ops.aten.threshold_backward(g, a, 0)


def _softplus_grad(a: Tensor) -> Tensor:
    # 1 − e^(−a), written as −expm1(−a) so it stays accurate when a ≈ 0 (z very negative).
    return -torch.expm1(-a)


def _tanh_grad(a: Tensor) -> Tensor:
    return 1 - a * a


def _leaky_relu_grad(a: Tensor) -> Tensor:
    return torch.ones_like(a).masked_fill_(a <= 0, LEAKY_RELU_SLOPE)


ACTIVATIONS: dict[str, Activation] = {
    "identity": Activation("identity", lambda z: z, None, torch.nn.Identity, lambda z: z),
    "sigmoid": Activation("sigmoid", torch.sigmoid, _sigmoid_grad, torch.nn.Sigmoid, torch.sigmoid_),
    "relu": Activation("relu", torch.relu, _relu_grad, torch.nn.ReLU, torch.relu_, _relu_delta),
    "softplus": Activation("softplus", F.softplus, _softplus_grad, torch.nn.Softplus),
    "tanh": Activation("tanh", torch.tanh, _tanh_grad, torch.nn.Tanh, torch.tanh_),
    "leaky_relu": Activation(
        "leaky_relu",
        lambda z: F.leaky_relu(z, LEAKY_RELU_SLOPE),
        _leaky_relu_grad,
        lambda: torch.nn.LeakyReLU(LEAKY_RELU_SLOPE),
        lambda z: F.leaky_relu_(z, LEAKY_RELU_SLOPE),
    ),
}


def get_activation(name: str) -> Activation:
    """Look an activation up by name; an unknown name raises ``ValueError`` listing the valid ones."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown activation {name!r}; valid activations: {', '.join(ACTIVATIONS)}"
        ) from None
