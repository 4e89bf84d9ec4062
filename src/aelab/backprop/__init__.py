"""The lecture's backpropagation, written by hand. Nothing here imports the rest of aelab.

* :func:`linear_act` / :class:`LinearActFunction`: ``a = φ(x Wᵀ + b)`` with
  ``δ = g ⊙ φ'``, ``∂E/∂W = δᵀx``, ``∂E/∂b = Σδ``, ``∂E/∂x = δW``.
* :data:`ACTIVATIONS`: one row per activation: φ and φ' side by side, its init and saturation.
* :class:`LectureLinear`: the Function as an ``nn.Linear``.
* :func:`unfolded_conv2d` / :class:`LectureConv2d`: a convolution as the same layer on patches.
* :func:`half_mse`, :func:`l2_penalty`: the lecture's loss and L2 term with their gradients.
"""

from aelab.backprop.activations import ACTIVATIONS, Activation, get_activation
from aelab.backprop.conv import LectureConv2d, unfolded_conv2d
from aelab.backprop.function import LinearActFunction, linear_act
from aelab.backprop.linear import LectureLinear
from aelab.backprop.loss import half_mse, l2_penalty

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "LectureConv2d",
    "LectureLinear",
    "LinearActFunction",
    "get_activation",
    "half_mse",
    "l2_penalty",
    "linear_act",
    "unfolded_conv2d",
]
