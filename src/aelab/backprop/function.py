"""The lecture's fully connected layer as a hand-written ``torch.autograd.Function``.

Forward (one layer, a batch of row vectors, ``W`` stored (out, in) as in ``nn.Linear``)::

    z^(l+1) = W^(l+1) x^(l) + b^(l+1)        →   z = x Wᵀ + b
    x^(l+1) = φ(z^(l+1))                     →   a = φ(z)

Backward, given g = ∂E/∂a from the layer above (for the output layer g = x^(L) − y)::

    δ^(l+1) = g ⊙ φ'(z^(l+1))                          (φ' from the saved a, or z: see below)
    ∂E/∂W^(l+1) = δ^(l+1) x^(l)ᵀ             →   Σ_k δ_k x_kᵀ = δᵀ x
    ∂E/∂b^(l+1) = δ^(l+1)                    →   Σ_k δ_k      = δ.sum(0)
    ∂E/∂x^(l)   = W^(l+1)ᵀ δ^(l+1)           →   δ W   (the lecture's recursion: the layer
                                                 below multiplies it by its own φ'(z^(l)))

The weight w_ji goes from unit i to unit j, hence Wᵀ on the way back. Nothing here calls autograd:
these are the equations. The backward is written with differentiable torch ops on the saved
tensors, so it can itself be differentiated (``gradgradcheck``, Hessian-vector products).

What the layer keeps for φ' is its activation's choice (:class:`~aelab.backprop.activation.Activation`):
the output a for a monotonic φ (φ computed in place over z; a is the next layer's input anyway), or
z for GELU, SiLU and the like, whose a does not determine z. Such a z is a second output of the Function
(:func:`linear_act` drops it): saved as an output, it stays connected to x, W and b, so a backward
that is itself differentiated sees φ'(z) depend on them; its gradient, nonzero only there, joins δ.
Keeping z costs what native autograd keeps for the same layer (its activation node saves z);
recomputing z = x Wᵀ + b in backward instead would save those bytes for one more matrix product
per layer (docs/explanation/activations.md measures both).
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

import torch
from torch import Tensor

from aelab.backprop.activation import Activation
from aelab.backprop.activations import get_activation


class LinearActFunction(torch.autograd.Function):
    """``a = φ(x Wᵀ + b)`` with the lecture's backward. Use :func:`linear_act` to call it."""

    # forward and backward are pure torch ops, so torch.func.vmap can batch them itself.
    generate_vmap_rule = True

    @staticmethod
    def forward(x: Tensor, weight: Tensor, bias: Tensor | None, act: Activation) -> Tensor | tuple[Tensor, Tensor]:
        # z = x Wᵀ + b  (addmm fuses the bias add into the matrix product)
        z = torch.addmm(bias, x, weight.t()) if bias is not None else x @ weight.t()
        if act.needs_z:
            return act.phi(z), z  # a = φ(z), and z itself for φ'(z)
        return act.phi_own(z)  # a = φ(z); z is our own fresh tensor, so φ may overwrite it in place

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Tensor | tuple[Tensor, Tensor]) -> None:
        x, weight, bias, act = inputs
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        a, z = cast(tuple[Tensor, Tensor], output) if act.needs_z else (cast(Tensor, output), None)
        ctx.act = act
        ctx.has_bias = bias is not None
        ctx.set_materialize_grads(False)  # z's gradient is None but in a double backward
        # Save only what the requested gradients use: x for ∂E/∂W, W for ∂E/∂x, a (or z) for φ'.
        # x is the previous layer's saved output and a the next layer's saved input, so a layer
        # reading φ' off a adds no tensor of its own to the autograd graph.
        ctx.save_for_backward(
            x if need_w else None,
            weight if need_x else None,
            act.kept(z, a) if (need_x or need_w or need_b) else None,
        )

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor | None, grad_z: Tensor | None = None) -> tuple[Tensor | None, ...]:
        x, weight, kept = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        # δ = g ⊙ φ'(z)   (for ReLU one fused kernel: g where a > 0, else 0; see Activation.delta)
        delta = ctx.act.delta(grad_out, kept) if grad_out is not None else None
        if grad_z is not None:  # z used by a differentiated backward: ∂E/∂z adds to δ
            delta = grad_z if delta is None else delta + grad_z
        if delta is None:
            return None, None, None, None
        grad_x = delta @ weight if need_x else None  # ∂E/∂x = δ W  (Wᵀδ per example)
        grad_w = delta.t() @ x if need_w else None  # ∂E/∂W = δᵀ x  (δ xᵀ per example)
        grad_b = delta.sum(0) if need_b and ctx.has_bias else None  # ∂E/∂b = Σ_batch δ
        return grad_x, grad_w, grad_b, None


FunctionT = TypeVar("FunctionT", bound=type[torch.autograd.Function])
_AUTOCAST_AWARE: dict[tuple[type, str], type] = {}


def autocast_aware(function: FunctionT, device_type: str) -> FunctionT:
    """``function`` with ``torch.amp.custom_fwd/custom_bwd`` for one device type (one class per pair).

    The decorators take a fixed device type, so the Function is specialised per device. custom_fwd
    wraps ``setup_context`` (it records the autocast state on ctx; forward's ops already run under
    the ambient autocast), custom_bwd re-enters that state in backward.
    """
    aware = _AUTOCAST_AWARE.get((function, device_type))
    if aware is None:
        aware = _AUTOCAST_AWARE[function, device_type] = type(
            f"{function.__name__}_{device_type}",
            (function,),
            {
                "setup_context": staticmethod(torch.amp.custom_fwd(function.setup_context, device_type=device_type)),
                "backward": staticmethod(torch.amp.custom_bwd(function.backward, device_type=device_type)),
            },
        )
    return cast(FunctionT, aware)


def _check_inputs(x: Tensor, weight: Tensor, bias: Tensor | None) -> None:
    """Turn shape/dtype/device mistakes into a ValueError that says what was expected."""
    if not isinstance(x, Tensor) or not isinstance(weight, Tensor):
        raise ValueError("linear_act expects tensors for x and weight")
    if weight.dim() != 2:
        raise ValueError(f"weight must have shape (out_features, in_features), got {tuple(weight.shape)}")
    out_f, in_f = weight.shape
    if x.dim() != 2 or x.shape[1] != in_f:
        raise ValueError(
            f"x must have shape (batch, {in_f}) to match weight {tuple(weight.shape)}, got {tuple(x.shape)}"
        )
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != out_f):
        raise ValueError(f"bias must have shape ({out_f},), got {tuple(bias.shape)}")
    tensors = [t for t in (x, weight, bias) if t is not None]
    if any(t.device != x.device for t in tensors):
        raise ValueError("x, weight and bias must be on one device, got " + ", ".join(str(t.device) for t in tensors))
    # Under autocast mixed dtypes are expected (fp32 master weights, low-precision activations).
    if not torch.is_autocast_enabled(x.device.type) and any(t.dtype != x.dtype for t in tensors):
        raise ValueError("x, weight and bias must share one dtype, got " + ", ".join(str(t.dtype) for t in tensors))


def linear_act(
    x: Tensor, weight: Tensor, bias: Tensor | None = None, activation: str | Activation = "identity"
) -> Tensor:
    """``φ(x Wᵀ + b)`` through the hand-written Function.

    Args:
        x: (batch, in_features).
        weight: (out_features, in_features), as in ``nn.Linear``.
        bias: (out_features,) or None.
        activation: a name from :data:`aelab.backprop.ACTIVATIONS` (or an ``Activation``).
    """
    act = activation if isinstance(activation, Activation) else get_activation(activation)
    _check_inputs(x, weight, bias)
    out = autocast_aware(LinearActFunction, x.device.type).apply(x, weight, bias, act)
    return out[0] if act.needs_z else out  # a (z, a second output, lives on in the graph only)
