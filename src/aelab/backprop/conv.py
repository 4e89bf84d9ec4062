"""The lecture's convolution: the same hand-written layer, applied to every patch.

A k×k convolution computes, at every output position, ``φ(W · patch + b)`` where the patch is the
k×k×C block of input pixels around that position: the fully connected layer of the lecture, with
its weights shared over positions. Its backward is therefore the lecture's:

    δ = g ⊙ φ'(z)                          (φ' from the saved output a, or z, as for a dense layer)
    ∂E/∂W = Σ_positions δ · patchᵀ         (δᵀ · patches)
    ∂E/∂b = Σ_positions δ
    ∂E/∂x = δ W, folded back onto the pixels each patch came from

Two ways to compute those sums, one set of equations (``LectureConv2d(kernel=...)``,
``model.conv_kernel``):

* ``unfold`` — :func:`unfolded_conv2d` writes it literally: unfold the input into one row per
  output position and run :class:`~aelab.backprop.function.LinearActFunction` on the rows, so the
  convolution *is* the dense layer on patches (``∂E/∂patches = δW``, folded back by the unfold's
  own backward). The formulation that shows what a convolution is; about half native speed on a
  CPU, where the gather and the tall-skinny matmuls cost more than a tuned convolution.
* ``primitive`` (default) — :class:`ConvActFunction`: the same forward ``φ(conv(x, W) + b)`` and
  the same backward, δ = g ⊙ φ'(z) written here, with the three products δᵀ·patches, Σδ and δW
  folded onto the pixels computed by the convolution primitive's backward
  (``aten.convolution_backward``), which forms exactly those sums without materialising the
  patches. Native speed and memory; checked against the unfold path and autograd to 1e-10.
"""

from __future__ import annotations

from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from aelab.backprop.activation import Activation
from aelab.backprop.activations import get_activation
from aelab.backprop.function import linear_act

KERNELS = ("primitive", "unfold")


class ConvActFunction(torch.autograd.Function):
    """``a = φ(conv(x, W) + b)`` with the lecture's backward; the products by the convolution
    primitive. Use :func:`conv_act` to call it."""

    generate_vmap_rule = True  # pure torch ops on both sides: torch.func.vmap/jacrev batch them

    @staticmethod
    def forward(
        x: Tensor, weight: Tensor, bias: Tensor | None, stride: int, padding: int, act: Activation
    ) -> Tensor | tuple[Tensor, Tensor]:
        z = F.conv2d(x, weight, bias, stride, padding)  # z = W · patch + b at every position
        if act.needs_z:
            return act.phi(z), z  # a = φ(z), and z for φ'(z), as the dense Function
        return act.phi_own(z)  # a = φ(z), in place on our own z

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Tensor | tuple[Tensor, Tensor]) -> None:
        x, weight, bias, stride, padding, act = inputs
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        a, z = cast(tuple[Tensor, Tensor], output) if act.needs_z else (cast(Tensor, output), None)
        ctx.act, ctx.stride, ctx.padding, ctx.has_bias = act, stride, padding, bias is not None
        ctx.shapes = (x.shape, weight.shape)
        ctx.dtype = a.dtype  # what forward computed in (lower than x/W's under autocast)
        ctx.set_materialize_grads(False)  # z's gradient is None but in a double backward
        # As the dense layer: x for ∂E/∂W, W for ∂E/∂x, a (or z) for φ' — only what is asked for.
        ctx.save_for_backward(
            x if need_w else None,
            weight if need_x else None,
            act.kept(z, a) if (need_x or need_w or need_b) else None,
        )

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor | None, grad_z: Tensor | None = None) -> tuple[Tensor | None, ...]:
        x, weight, kept = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        need_b = need_b and ctx.has_bias
        delta = ctx.act.delta(grad_out, kept) if grad_out is not None else None  # δ = g ⊙ φ'(z)
        if grad_z is not None:  # z used by a differentiated backward: ∂E/∂z adds to δ
            delta = grad_z if delta is None else delta + grad_z
        if delta is None:
            return None, None, None, None, None, None
        x_shape, w_shape = ctx.shapes
        # Under autocast the forward ran in a lower precision than the saved fp32 input or master
        # weights: the primitive (not autocast-aware) wants all three in that precision, as forward had.
        dtype = ctx.dtype
        delta = delta.to(dtype)
        # The primitive reads only the shape of what it does not differentiate against.
        x = x.to(dtype) if x is not None else delta.new_empty(1).expand(x_shape)
        weight = weight.to(dtype) if weight is not None else delta.new_empty(1).expand(w_shape)
        # ∂E/∂x = δW folded onto the pixels, ∂E/∂W = Σ δ·patchᵀ, ∂E/∂b = Σ δ
        grad_x, grad_w, grad_b = torch.ops.aten.convolution_backward(
            delta,
            x,
            weight,
            [w_shape[0]] if need_b else None,
            [ctx.stride, ctx.stride],
            [ctx.padding, ctx.padding],
            [1, 1],
            False,
            [0, 0],
            1,
            [need_x, need_w, need_b],
        )
        return grad_x, grad_w, grad_b, None, None, None


def conv_act(
    x: Tensor, weight: Tensor, bias: Tensor | None, stride: int, padding: int, activation: str | Activation
) -> Tensor:
    """``φ(conv(x, W) + b)`` through :class:`ConvActFunction` (square kernels, equal stride and
    padding on both axes, no dilation or groups: the layers aelab builds)."""
    act = activation if isinstance(activation, Activation) else get_activation(activation)
    out = ConvActFunction.apply(x, weight, bias, stride, padding, act)
    return out[0] if act.needs_z else out  # a (z, a second output, lives on in the graph only)


# unfolded_conv2d unfolds a chunk of images at a time; its patch matrix (k² times the size of the
# chunk for a k×k stride-1 convolution) takes at most about this many bytes (always >= one image).
# CPU: chunks that stay in cache and that malloc recycles without fresh pages from the OS (on a
# 2-core EPYC, 4 MiB was the fastest of 1-64 MiB, about 2x faster than 32-64 MiB; smaller
# chunks pay more per-op overhead). GPU: the size of the layer's input (at least the minimum), i.e. few large
# kernels, with memory still on the scale of what native convolution holds.
PATCH_CHUNK_BYTES_CPU = 4 * 2**20
PATCH_CHUNK_BYTES_MIN_GPU = 64 * 2**20


def _patch_chunk_bytes(x: Tensor) -> int:
    return PATCH_CHUNK_BYTES_CPU if x.device.type == "cpu" else max(x.nbytes, PATCH_CHUNK_BYTES_MIN_GPU)


def unfolded_conv2d(
    x: Tensor, weight: Tensor, bias: Tensor | None, stride: int, padding: int, activation: str | Activation
) -> Tensor:
    """A convolution as the lecture's fully connected layer on patches:

        patches = unfold(x)                     (N·H'·W', k·k·C), one row per output position
        a       = φ(patches Wᵀ + b)             the same hand-written Function, W viewed (C_out, k·k·C)
        out     = a viewed (N, H', W', C_out), returned permuted to (N, C_out, H', W')

    Every multiply-accumulate and φ' goes through :class:`LinearActFunction`; the rest is tensor
    plumbing with native backward (an ``index_select`` of pixel rows, whose backward scatter-adds
    each patch gradient back onto its pixels). The layout is channels-last: a patch row lists
    its k×k pixels' channel vectors one after another, so the gather copies contiguous runs of C
    values, and the (N·H'·W', C_out) result *is* an NHWC tensor: ``out`` is a view (memory format
    channels_last, no transposing copy) whose NHWC permutation the next layer gathers from.
    The batch is unfolded in chunks (:data:`PATCH_CHUNK_BYTES_CPU`), and each chunk's patches are
    rebuilt in backward rather than kept (:func:`_linear_act_on_patches`), so memory stays on the
    scale of the input instead of k² times it.
    """
    n, c_in, h, w = x.shape
    c_out, _, k, _ = weight.shape
    h_out = (h + 2 * padding - k) // stride + 1
    w_out = (w + 2 * padding - k) // stride + 1
    w_rows = weight.permute(0, 2, 3, 1).reshape(c_out, k * k * c_in)  # columns ordered (i, j, c)
    per_image = h_out * w_out * k * k * c_in * x.element_size()
    chunks = x.split(max(1, _patch_chunk_bytes(x) // per_image))
    parts = [_linear_act_on_patches(xc, w_rows, bias, k, stride, padding, activation) for xc in chunks]
    a = parts[0] if len(parts) == 1 else torch.cat(parts)  # (N·H'·W', C_out)
    return a.view(n, h_out, w_out, c_out).permute(0, 3, 1, 2)


_PATCH_INDEX: dict[tuple, Tensor] = {}  # a few per layer: (full chunk, last chunk) × device


def _patch_index(n: int, h_pad: int, w_pad: int, k: int, stride: int, device: torch.device) -> Tensor:
    """For n padded h_pad×w_pad images stacked pixel by pixel: the pixel numbers of every patch's
    k×k pixels, patch by patch: ``b·h_pad·w_pad + (s·y + i)·w_pad + (s·x + j)`` for image b,
    output position (y, x), offsets (i, j). Cached (a plain dict, which torch.compile traces)."""
    key = (n, h_pad, w_pad, k, stride, device)
    index = _PATCH_INDEX.get(key)
    if index is None:
        if len(_PATCH_INDEX) >= 64:
            _PATCH_INDEX.clear()
        pixels = torch.arange(n * h_pad * w_pad, device=device).view(n, h_pad, w_pad)
        index = _PATCH_INDEX[key] = pixels.unfold(1, k, stride).unfold(2, k, stride).reshape(-1)
    return index


def _patches(x: Tensor, k: int, stride: int, padding: int) -> Tensor:
    """unfold(x): rows (N·H'·W', k·k·C), each the k×k channel vectors around one output position."""
    xh = x.permute(0, 2, 3, 1)  # NHWC: a view, contiguous when x is channels-last
    if padding:
        xh = F.pad(xh, (0, 0, padding, padding, padding, padding))
    n, h_pad, w_pad, c = xh.shape
    pixels = xh.reshape(n * h_pad * w_pad, c)  # one row per pixel
    return pixels.index_select(0, _patch_index(n, h_pad, w_pad, k, stride, x.device)).view(-1, k * k * c)


_REBUILD = object()  # what autograd keeps instead of the patch matrix


def _in_torch_func_transform() -> bool:
    # torch.func's grad transforms refuse saved-tensor hooks; there the patches are kept instead.
    peek = getattr(torch._C._functorch, "peek_interpreter_stack", None)
    return peek is not None and peek() is not None


def _linear_act_on_patches(
    x: Tensor, w_rows: Tensor, bias: Tensor | None, k: int, stride: int, padding: int, activation: str | Activation
) -> Tensor:
    """``linear_act(unfold(x), W, b)``, with the patches rebuilt from x when backward needs them.

    The Function saves its input for ∂E/∂W = δᵀ·patches; that input is k² times the size of x
    (9× for 3×3 stride 1), while native conv keeps only x. A saved-tensor hook stores a marker
    for the patch matrix instead and unfolds x again in backward (recomputation, like
    torch.utils.checkpoint, but of the unfold alone: no multiply-accumulate is repeated). x
    itself is kept, as native conv keeps it; rebuilding under create_graph stays differentiable.
    """
    patches = _patches(x, k, stride, padding)
    if not torch.is_grad_enabled() or _in_torch_func_transform():
        return linear_act(patches, w_rows, bias, activation)
    version, patches_id = x._version, id(patches)  # (the hooks must not keep the patches alive)

    def pack(t: Tensor) -> object:
        return _REBUILD if id(t) == patches_id else t

    def unpack(saved: object) -> Tensor:
        if saved is not _REBUILD:
            return saved  # type: ignore[return-value]
        if x._version != version:
            raise RuntimeError(
                "unfolded_conv2d: its input was modified in place after the forward "
                "pass, so the patches needed for backward cannot be rebuilt"
            )
        return _patches(x, k, stride, padding)

    with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
        return linear_act(patches, w_rows, bias, activation)


class LectureConv2d(nn.Conv2d):
    """``φ(conv(x))`` whose backward is the lecture's: ``kernel="primitive"`` (default,
    :class:`ConvActFunction`) or ``kernel="unfold"`` (the dense layer's Function on unfolded patches)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        activation: str = "identity",
        kernel: str = "primitive",
    ):
        if kernel not in KERNELS:
            raise ValueError(f"unknown kernel {kernel!r}; kernel must be one of: {', '.join(KERNELS)}")
        self.act = get_activation(activation)
        self.kernel = kernel
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding)

    def forward(self, x: Tensor) -> Tensor:
        conv = conv_act if self.kernel == "primitive" else unfolded_conv2d
        return conv(x, self.weight, self.bias, self.stride[0], int(self.padding[0]), self.act)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, activation={self.act.name}, kernel={self.kernel}"


__all__ = ["KERNELS", "ConvActFunction", "LectureConv2d", "conv_act", "unfolded_conv2d"]
