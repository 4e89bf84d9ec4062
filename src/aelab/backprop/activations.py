"""The lecture's activations: one row each, φ and φ' side by side (micrograd style), with what
the rest of aelab needs to know about it (its init, where it saturates, its native twin).

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
elu             z if z > 0 else α(e^z − 1)  1 if a > 0 else a + α  (a = α(e^z − 1) ⇒ α e^z = a + α)
==============  =========================  =================================================

Because φ' needs only ``a``, the layer saves nothing that the next layer does not already hold
(its input is the previous layer's saved output), which keeps memory at or below native autograd.
All φ' functions use differentiable torch ops, so the backward pass can itself be differentiated
(``gradgradcheck``).

The backward needs φ' only inside δ = g ⊙ φ'(z). For ReLU that product is "g where a > 0, else 0",
which one fused kernel computes (``delta_from_output``) instead of building the 0/1 tensor φ' and
multiplying: the same numbers, one pass over memory instead of three, no temporary.

Each row also carries

* its **init**: Glorot/Xavier (variance 2/(fan_in + fan_out)) or He/Kaiming (variance 2/fan_in,
  for units that are off half the time), with the gain torch's ``calculate_gain`` gives it;
* where it **saturates**: ``dead`` units (ReLU-like: the unit is ≤ 0 for every example, no
  gradient passes it) or a ``slope`` threshold (the fraction of activations with
  φ'(z) < 0.1 · max φ', where the gradient through the unit is cut at least tenfold).

Adding an activation is adding a row here: the config, the init, the dashboards and the
verification all read this table.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

LEAKY_RELU_SLOPE = 0.01  # torch's default negative slope, so the native twin matches exactly


SATURATION_SLOPE = 0.1  # a unit is saturated where φ'(z) < SATURATION_SLOPE · max φ'


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
    # init="auto": "xavier" or "kaiming", scaled by `gain` (torch.nn.init.calculate_gain's value)
    init: str = "xavier"
    gain: float = 1.0
    # "dead" (a unit ≤ 0 for every example), "slope" (φ' < SATURATION_SLOPE · max_slope), None
    saturation: str | None = None
    max_slope: float = 1.0

    def delta(self, g: Tensor, a: Tensor) -> Tensor:
        """The lecture's δ = g ⊙ φ'(z), with φ' read off the layer's output a = φ(z)."""
        if self.dphi_from_output is None:
            return g
        if self.delta_from_output is not None:
            return self.delta_from_output(g, a)
        return g * self.dphi_from_output(a)

    def saturated_fraction(self, a: Tensor) -> Tensor | None:
        """The fraction of a layer's units outside their useful range, from its output ``a``
        (batch first; a 0-d tensor on a's device, no host sync); None where it does not apply.

        * ``dead``: the fraction of units (features, or conv channels) whose output is ≤ 0 for
          every example (and position) of the batch: no gradient, or only a leak, passes them.
        * ``slope``: the fraction of (example, unit) activations with φ'(z) < 0.1 · max φ'.
        """
        a = a.detach()
        if self.saturation == "dead":
            per_unit = a.transpose(0, 1).flatten(1)  # (units, examples · positions)
            return (per_unit <= 0).all(dim=1).float().mean()
        if self.saturation == "slope" and self.dphi_from_output is not None:
            return (self.dphi_from_output(a.float()) < SATURATION_SLOPE * self.max_slope).float().mean()
        return None


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


ELU_ALPHA = 1.0  # torch's default, so the native twin matches exactly


def _elu_grad(a: Tensor) -> Tensor:
    return torch.where(a > 0, torch.ones_like(a), a + ELU_ALPHA)


ACTIVATIONS: dict[str, Activation] = {
    "identity": Activation("identity", lambda z: z, None, torch.nn.Identity, lambda z: z),
    # sigmoid saturates where a < 0.026 or a > 0.974 (φ' < 0.025)
    "sigmoid": Activation(
        "sigmoid", torch.sigmoid, _sigmoid_grad, torch.nn.Sigmoid, torch.sigmoid_, saturation="slope", max_slope=0.25
    ),
    "relu": Activation(
        "relu",
        torch.relu,
        _relu_grad,
        torch.nn.ReLU,
        torch.relu_,
        _relu_delta,
        init="kaiming",
        gain=math.sqrt(2.0),
        saturation="dead",
    ),
    # softplus saturates where a < 0.105 (z < −2.2)
    "softplus": Activation("softplus", F.softplus, _softplus_grad, torch.nn.Softplus, saturation="slope"),
    # tanh saturates where |a| > 0.949
    "tanh": Activation("tanh", torch.tanh, _tanh_grad, torch.nn.Tanh, torch.tanh_, gain=5.0 / 3, saturation="slope"),
    "leaky_relu": Activation(
        "leaky_relu",
        lambda z: F.leaky_relu(z, LEAKY_RELU_SLOPE),
        _leaky_relu_grad,
        lambda: torch.nn.LeakyReLU(LEAKY_RELU_SLOPE),
        lambda z: F.leaky_relu_(z, LEAKY_RELU_SLOPE),
        init="kaiming",
        gain=math.sqrt(2.0 / (1 + LEAKY_RELU_SLOPE**2)),
        saturation="dead",
    ),
    # elu: ReLU's identity for z > 0, a smooth negative tail to −α; He init as for ReLU (half the
    # units near zero); saturates where a < −0.9 (z < −2.3, φ' < 0.1)
    "elu": Activation(
        "elu",
        lambda z: F.elu(z, ELU_ALPHA),
        _elu_grad,
        lambda: torch.nn.ELU(ELU_ALPHA),
        lambda z: F.elu_(z, ELU_ALPHA),
        init="kaiming",
        gain=math.sqrt(2.0),
        saturation="slope",
    ),
}


def get_activation(name: str) -> Activation:
    """Look an activation up by name; an unknown name raises ``ValueError`` listing the valid ones."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown activation {name!r}; valid activations: {', '.join(ACTIVATIONS)}") from None
