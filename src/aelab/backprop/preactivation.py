"""A weight layer's pre-activation z, and the tensor its φ' is computed from, for code that reads φ'
outside the layer's own backward: the δ probe and saturation (:mod:`aelab.gradflow`) and the
contractive penalty (:mod:`aelab.ae.contractive`).

They see a layer from outside, through its input x and output a = φ(z). A row that reads φ' off a
needs nothing more; a row whose φ' needs z (such as GELU, SiLU) gets z = W x + b computed again from
x, by the same layer: the hand-written Function (with φ = identity) for the lecture layers, so a
penalty built on z backpropagates through the lecture's equations too, and native ops for the
torch twins. Either way φ' is then read as the Function's backward reads it, ``Activation.dphi``
on what :meth:`~aelab.backprop.activation.Activation.kept` names.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from aelab.backprop.activation import Activation
from aelab.backprop.conv import LectureConv2d, conv_act, unfolded_conv2d
from aelab.backprop.function import linear_act
from aelab.backprop.linear import LectureLinear


def pre_activation(layer: nn.Linear | nn.Conv2d, x: Tensor) -> Tensor:
    """z = W x + b of a dense or convolution layer (whatever activation it applies after)."""
    if isinstance(layer, LectureLinear):
        z = linear_act(x.reshape(-1, layer.in_features), layer.weight, layer.bias, "identity")
        return z.reshape(*x.shape[:-1], layer.out_features)
    if isinstance(layer, LectureConv2d):
        conv = conv_act if layer.kernel == "primitive" else unfolded_conv2d
        return conv(x, layer.weight, layer.bias, layer.stride[0], int(layer.padding[0]), "identity")
    if isinstance(layer, nn.Conv2d):
        return layer._conv_forward(x, layer.weight, layer.bias)
    return F.linear(x, layer.weight, layer.bias)


def dphi_input(layer: nn.Linear | nn.Conv2d, x: Tensor, a: Tensor) -> Tensor | None:
    """What the layer's φ' is computed from, given its input x and output a: z (computed again from
    x) for an activation whose φ' needs z, a for the others, None for φ' ≡ 1."""
    act: Activation = layer.act  # type: ignore[assignment]  # every aelab weight layer carries it
    return act.kept(pre_activation(layer, x) if act.needs_z else None, a)


__all__ = ["dphi_input", "pre_activation"]
