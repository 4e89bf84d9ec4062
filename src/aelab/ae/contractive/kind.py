"""``ae=contractive``: penalise how much the code moves when the input moves (Rifai et al. 2011).

For one layer ``h = φ(Wx + b)`` the Jacobian is ``∂h_j/∂x_i = φ'(z_j) W_ji``, so its squared
Frobenius norm is the lecture's φ' again:

    ‖∂h/∂x‖²_F = Σ_j φ'(z_j)² Σ_i W_ji²

φ'(z_j) is read as the Function's backward reads it (``Activation.dphi``): off the layer's output
a = φ(z), or, for an activation whose φ' needs z (such as GELU, SiLU), off z = W x + b, computed again
from the layer's input by the same layer (:func:`aelab.backprop.pre_activation`; one more matrix
product per such layer, whose gradient backpropagates like the rest). ``Σ_i W_ji²`` is
the layer itself applied to a unit input with weights W² — for a convolution, to an image of ones,
which counts only the kernel taps that fall inside the image at the borders — so with
``impl=lecture`` it too goes through the hand-written Function.

Every weight layer of the encoder is penalised against its own input (the stacked contractive
autoencoder's sum; for a one-layer encoder it is Rifai's ‖J_f(x)‖²_F):

    Ω = 1/n Σ_k Σ_layers ‖∂x^(l)/∂x^(l−1)‖²_F (x_k)        E = reconstruction + weight · Ω
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from aelab.ae.base import Kind, KindStats
from aelab.ae.contractive.config import ContractiveConfig
from aelab.backprop import LectureConv2d, LectureLinear, conv_act, linear_act, pre_activation, unfolded_conv2d
from aelab.models.base import AEOutput, Autoencoder
from aelab.models.layers import WEIGHT_LAYER_TYPES, WeightLayer

JACOBIAN_IMAGES = 16  # validation images whose full encoder Jacobian the dashboard measures


def squared_fan_in(layer: WeightLayer, input_shape: tuple[int, ...]) -> Tensor:
    """``Σ_i W_ji²`` for every output unit j of ``layer`` (dense: (out,); conv: (C_out, H', W'))."""
    w2 = layer.weight.pow(2)
    if isinstance(layer, nn.Conv2d):
        ones = layer.weight.new_ones((1, *input_shape[1:]))
        stride, padding = layer.stride[0], int(layer.padding[0])
        if isinstance(layer, LectureConv2d):
            conv = conv_act if layer.kernel == "primitive" else unfolded_conv2d
            return conv(ones, w2, None, stride, padding, "identity")[0]
        return F.conv2d(ones, w2, None, stride, padding)[0]
    ones = layer.weight.new_ones((1, layer.weight.shape[1]))
    if isinstance(layer, LectureLinear):
        return linear_act(ones, w2, None, "identity")[0]
    return F.linear(ones, w2)[0]


def layer_contraction(layer: WeightLayer, input_shape: tuple[int, ...], kept: Tensor | None) -> Tensor:
    """``1/n Σ_k ‖∂a/∂x‖²_F`` of one layer (n examples), from what its φ' is computed from
    (:func:`encoder_layers`: its output a, or z for an activation whose φ' needs z; None for φ' ≡ 1)."""
    fan_in = squared_fan_in(layer, input_shape)
    if kept is None or layer.act.unit_slope:  # φ' ≡ 1: the Jacobian is W itself, the same for every example
        return fan_in.sum()
    return (layer.act.dphi(kept).pow(2) * fan_in).flatten(1).sum(1).mean()


def contraction(layers: list[tuple[WeightLayer, tuple[int, ...], Tensor | None]]) -> Tensor:
    """Ω: the sum of :func:`layer_contraction` over the encoder's weight layers."""
    return torch.stack([layer_contraction(*entry) for entry in layers]).sum()


def encoder_layers(
    model: Autoencoder, x: Tensor
) -> tuple[Tensor, list[tuple[WeightLayer, tuple[int, ...], Tensor | None]]]:
    """``model.encode_layers(x)`` with each layer's output a replaced by what its φ' is computed
    from (``Activation.kept``): a, or z computed again from the layer's input for an activation whose
    φ' needs z (a forward pre-hook on those layers alone hands the input over), None for φ' ≡ 1."""
    inputs: dict[nn.Module, Tensor] = {}

    def keep_input(module: nn.Module, args: tuple[Tensor, ...]) -> None:
        inputs[module] = args[0]

    z_layers = [m for m in model.encoder.modules() if isinstance(m, WEIGHT_LAYER_TYPES) and m.act.needs_z]
    handles = [layer.register_forward_pre_hook(keep_input) for layer in z_layers]
    try:
        code, layers = model.encode_layers(x)
    finally:
        for handle in handles:
            handle.remove()
    return code, [
        (layer, shape, layer.act.kept(pre_activation(layer, inputs[layer]) if layer.act.needs_z else None, a))
        for layer, shape, a in layers
    ]


class Contractive(Kind):
    config: ContractiveConfig

    def forward(self, model: Autoencoder, x: Tensor) -> AEOutput:
        code, layers = encoder_layers(model, x)
        out = model.from_code(code)
        out.loss_terms["penalty"] = self.config.weight * contraction(layers)
        return out

    @torch.no_grad()
    def measure(self, model: Autoencoder, x: Tensor, generator: torch.Generator) -> KindStats:
        x = x[:JACOBIAN_IMAGES]
        _, layers = encoder_layers(model, x)
        with torch.enable_grad():
            norm = encoder_jacobian_norm(model, x)
        return KindStats(scalars={"contractive/penalty": float(contraction(layers)), "contractive/jacobian_norm": norm})


def encoder_jacobian_norm(model: Autoencoder, x: Tensor) -> float:
    """Mean over images of ‖∂code/∂x‖_F, the whole encoder's Jacobian (``torch.func.jacrev``)."""
    from torch.func import jacrev, vmap

    def code_of(image: Tensor) -> Tensor:
        return model.encode(image.unsqueeze(0))[0]

    jac = vmap(jacrev(code_of))(x.detach())  # (n, code_dim, *image shape)
    return float(jac.detach().flatten(1).norm(dim=1).mean())


KIND = Contractive
