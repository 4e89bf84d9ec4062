"""A run of the lecture's layers as one ``torch.autograd.Function``: the backward is the lecture's
recursion written as one loop, from the output layer down.

Forward, l = 1 … L (batch rows, ``W^(l)`` stored (out, in)); every layer's output is returned::

    z^(l) = x^(l−1) W^(l)ᵀ + b^(l)          x^(l) = φ_l(z^(l))

Backward, given g^(l) = ∂E/∂x^(l) from outside (the last layer's, and any other output used)::

    g = 0
    for l = L … 1:
        g          = g + g^(l)                      (what reaches x^(l): from above and from outside)
        δ^(l)      = g ⊙ φ_l'(z^(l))                (φ' from the saved x^(l), or z^(l): see below)
        ∂E/∂W^(l)  = δ^(l)ᵀ x^(l−1)
        ∂E/∂b^(l)  = Σ_batch δ^(l)
        g          = δ^(l) W^(l)                    (W^(l)ᵀ δ^(l) per example; the next δ is
                                                     δ^(l−1) = (W^(l)ᵀ δ^(l)) ⊙ φ'(z^(l−1)))

These are the operations :class:`~aelab.backprop.function.LinearActFunction` performs layer by
layer, in the same order on the same tensors: a stack computes the same numbers bit for bit and
saves the same tensors (the input and each layer's output, which is the next layer's input), but
pays the fixed cost of one autograd node and one Python backward instead of L.
:class:`LectureSequential` runs its :class:`~aelab.backprop.linear.LectureLinear` layers through it
whenever nothing needs to see them one at a time (a forward hook), and one by one otherwise. Under
autocast the stack runs as the layer-by-layer Function does: its products in the low precision, its
backward under the forward's autocast state.

A layer whose activation needs z for φ' (such as GELU, SiLU) keeps z^(l) as the layer-by-layer
Function does: the z^(l) of those layers follow the L outputs as further outputs of the Function
(:func:`stack_act` drops them), saved as outputs so that a differentiated backward stays connected.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from aelab.backprop.activation import Activation
from aelab.backprop.function import _check_inputs, autocast_aware
from aelab.backprop.linear import LectureLinear


class StackActFunction(torch.autograd.Function):
    """Inputs ``(x, acts, release, W1, b1, …, WL, bL)``; outputs ``(x^(1), …, x^(L))``, then z^(l) for
    each layer l whose activation needs z, in order. Use :func:`stack_act`."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x: Tensor, acts: tuple[Activation, ...], release: bool, *params: Tensor) -> tuple[Tensor, ...]:
        outputs, zs = [], []
        a = x
        for act, weight, bias in zip(acts, params[0::2], params[1::2]):
            z = torch.addmm(bias, a, weight.t())  # z = x Wᵀ + b
            if act.needs_z:
                zs.append(z)
                a = act.phi(z)
            else:
                a = act.phi_own(z)  # φ(z), in place on our own z
            outputs.append(a)
        return (*outputs, *zs)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: tuple[Tensor, ...]) -> None:
        x, acts, release, *params = inputs
        ctx.acts = acts
        ctx.release = release
        ctx.set_materialize_grads(False)  # outputs nobody used get None, not a tensor of zeros
        need = ctx.needs_input_grad[:1] + ctx.needs_input_grad[2:]  # (x, release, W1, b1, …): acts dropped
        n = len(acts)
        zs = iter(output[n:])
        z_of = [next(zs) if act.needs_z else None for act in acts]
        # Only what the gradients use, as the layer-by-layer Function: x^(l−1) for ∂E/∂W^(l), W^(l)
        # to pass g down, x^(l) (or z^(l)) for φ' (x^(l) is the next layer's input anyway); never a bias.
        inputs_kept = [x if need[2] else None] + [output[k] if need[2 + 2 * (k + 1)] else None for k in range(n - 1)]
        weights = [params[2 * k] if (k > 0 or need[0]) else None for k in range(n)]
        outs = [
            output[k]
            if (not acts[k].unit_slope and not acts[k].needs_z) or (k < n - 1 and inputs_kept[k + 1] is not None)
            else None
            for k in range(n)
        ]
        ctx.save_for_backward(*inputs_kept[:1], *weights, *outs, *z_of)

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Tensor | None) -> tuple[Tensor | None, ...]:
        acts = ctx.acts
        n = len(acts)
        x, *rest = ctx.saved_tensors
        weights, outputs, zs = rest[:n], rest[n : 2 * n], rest[2 * n :]
        grad_zs = iter(grad_outputs[n:])
        grad_z = [next(grad_zs) if act.needs_z else None for act in acts]
        need_x, need_params = ctx.needs_input_grad[0], ctx.needs_input_grad[3:]
        if getattr(ctx, "released", False):
            raise RuntimeError(
                "a fused stack of lecture layers in training mode frees its saved outputs during its first "
                "backward; for a second backward through the same graph (retain_graph=True, "
                "torch.autograd.functional.jacobian) put the model in eval mode or set LectureSequential.fuse = False"
            )
        # Free the inner outputs as the loop passes them only when nothing else can need them: the
        # caller does not keep them (release), no graph of this backward is being built, no functorch,
        # and no CUDA graph is being captured (its replays write to the captured addresses).
        ctx.release = ctx.release and not torch.is_grad_enabled() and not _wrapped(grad_outputs) and not _capturing()
        ctx.released = ctx.release
        grads: list[Tensor | None] = [None] * (2 * n)
        g: Tensor | None = None
        for k in reversed(range(n)):  # layer k + 1 of the lecture's l = 1 … L
            g = _add(g, grad_outputs[k])  # what reaches x^(l): from above and from outside
            a, z = outputs[k], zs[k]
            # δ = g ⊙ φ'(z), plus ∂E/∂z where a differentiated backward used z
            delta = _add(acts[k].delta(g, acts[k].kept(z, a)) if g is not None else None, grad_z[k])
            g = None  # dropped as soon as δ has it, as autograd drops a node's incoming gradient
            if ctx.release:
                for t in (a if k < n - 1 else None, z):
                    if t is not None:
                        _release(t)  # used no more (layer l+1 already took x^(l) as its input): free it
            if delta is None:  # nothing reaches this layer (yet): its parameters get no gradient
                continue
            if need_params[2 * k]:
                grads[2 * k] = delta.t() @ (x if k == 0 else outputs[k - 1])  # ∂E/∂W = δᵀ x
            if need_params[2 * k + 1]:
                grads[2 * k + 1] = delta.sum(0)  # ∂E/∂b = Σ_batch δ
            g = delta @ weights[k] if (k > 0 or need_x) else None  # ∂E/∂x = δ W: the layer below's g
            del delta
        return (g, None, None, *grads)


def _add(a: Tensor | None, b: Tensor | None) -> Tensor | None:
    """a + b, where None stands for a gradient that is zero (nothing reached it)."""
    return b if a is None else a if b is None else a + b


def _release(t: Tensor) -> None:
    t.untyped_storage().resize_(0)


def _capturing() -> bool:
    return torch.cuda.is_available() and torch.cuda.is_current_stream_capturing()


def _wrapped(tensors: tuple[Tensor | None, ...]) -> bool:
    """Whether a functorch transform (vmap, jacrev) is running: its tensors are not ours to free."""
    is_wrapped = getattr(torch._C._functorch, "is_functorch_wrapped_tensor", None)
    return is_wrapped is None or any(t is not None and is_wrapped(t) for t in tensors)


def stack_act(x: Tensor, layers: list[LectureLinear], release: bool = False) -> tuple[Tensor, ...]:
    """Every layer's output of the stack ``layers`` (each with a bias) applied to ``x`` (batch, in).

    ``release=True``: only the last output is returned (a 1-tuple), and backward frees each inner
    output once it is used, as autograd frees a layer's saved tensors once the layer's node has run;
    a second backward through the same graph is then refused. The inner outputs are never handed
    out, so nothing outside can hold one that is freed. (Nothing is freed while building a graph of
    the backward, ``create_graph=True``, or under a functorch transform.)"""
    _check_inputs(x, layers[0].weight, layers[0].bias)
    for below, layer in zip(layers, layers[1:]):
        if layer.in_features != below.out_features:
            raise ValueError(
                f"a stack's layers must chain: {below.out_features} outputs feed a layer of {layer.in_features} inputs"
            )
    params = [t for layer in layers for t in (layer.weight, layer.bias)]
    function = autocast_aware(StackActFunction, x.device.type)
    outputs = function.apply(x, tuple(layer.act for layer in layers), release, *params)
    n = len(layers)  # the z^(l) after the n outputs live on in the graph only
    return outputs[n - 1 : n] if release else outputs[:n]


def _observed(module: nn.Module) -> bool:
    """Whether a hook waits on this layer alone (forward or backward), which one fused node would skip."""
    return bool(
        module._forward_hooks or module._forward_pre_hooks or module._backward_hooks or module._backward_pre_hooks
    )


class LectureSequential(nn.Sequential):
    """An ``nn.Sequential`` that runs each run of two or more consecutive :class:`LectureLinear`
    layers as one :class:`StackActFunction` (the same numbers, one autograd node). It falls back to
    calling the layers one by one where a layer must be seen alone: a forward hook on it (the
    per-layer δ probe, hooks of other tools).

    In training mode the stack frees each inner output during the backward as soon as it is used
    (peak memory as native autograd's, which frees a layer's saved tensors once its node ran); a
    second backward through the same graph is then refused with a message. Eval mode keeps them."""

    fuse = True  # False: always layer by layer (benchmarks compare the two)

    def forward(self, x: Tensor) -> Tensor:
        if not self.fuse:
            return super().forward(x)
        m = nn.modules.module
        global_hooks = (
            m._global_forward_hooks
            or m._global_forward_pre_hooks
            or m._global_backward_hooks
            or m._global_backward_pre_hooks
        )
        if global_hooks or any(map(_observed, self)):
            return super().forward(x)
        run: list[LectureLinear] = []
        for module in [*self, None]:
            if isinstance(module, LectureLinear) and module.bias is not None:
                run.append(module)
                continue
            if len(run) == 1:
                x = run[0](x)
            elif run:
                # a training step backpropagates once: free the inner outputs as the backward passes
                out = stack_act(x.reshape(-1, x.shape[-1]), run, release=self.training)[-1]
                x = out.reshape(*x.shape[:-1], out.shape[-1])
            run = []
            if module is not None:
                x = module(x)
        return x


__all__ = ["LectureSequential", "StackActFunction", "stack_act"]
