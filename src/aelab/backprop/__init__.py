"""The lecture's backpropagation, written by hand. Nothing here imports the rest of aelab.

* :func:`linear_act` / :class:`LinearActFunction`: ``a = φ(x Wᵀ + b)`` with
  ``δ = g ⊙ φ'``, ``∂E/∂W = δᵀx``, ``∂E/∂b = Σδ``, ``∂E/∂x = δW``.
* :data:`ACTIVATIONS`: one row per activation: φ and φ' side by side, its init and saturation.
* :class:`LectureLinear`: the Function as an ``nn.Linear``.
* :class:`LectureConv2d`: a convolution as the same layer on patches: :func:`conv_act`
  (:class:`ConvActFunction`, the products by the convolution primitive) or :func:`unfolded_conv2d`
  (literally the dense layer's Function on unfolded patches).
* :func:`stack_act` / :class:`LectureSequential`: a run of layers as one Function whose backward
  is the lecture's recursion written as one loop, δ^(l) = (W^(l+1)ᵀ δ^(l+1)) ⊙ φ'(z^(l)).
* :func:`half_mse`, :func:`l2_penalty`: the lecture's loss and L2 term with their gradients.
"""

from aelab.backprop.activations import ACTIVATIONS, Activation, get_activation
from aelab.backprop.conv import ConvActFunction, LectureConv2d, conv_act, unfolded_conv2d
from aelab.backprop.function import LinearActFunction, linear_act
from aelab.backprop.linear import LectureLinear
from aelab.backprop.loss import half_mse, l2_penalty
from aelab.backprop.stack import LectureSequential, StackActFunction, stack_act

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "ConvActFunction",
    "LectureConv2d",
    "LectureLinear",
    "LectureSequential",
    "LinearActFunction",
    "StackActFunction",
    "conv_act",
    "get_activation",
    "half_mse",
    "l2_penalty",
    "linear_act",
    "stack_act",
    "unfolded_conv2d",
]
