"""The lecture's backpropagation, written by hand.

* :func:`linear_act` / :class:`LinearActFunction`: ``a = φ(x Wᵀ + b)`` with
  ``δ = g ⊙ φ'``, ``∂E/∂W = δᵀx``, ``∂E/∂b = Σδ``, ``∂E/∂x = δW``.
* :data:`ACTIVATIONS`: φ and φ' side by side.
* :class:`LectureLinear`: the Function as an ``nn.Linear``.
* :func:`half_mse`, :func:`l2_penalty`: the lecture's loss and L2 term with their gradients.
"""

from aelab.backprop.activations import ACTIVATIONS, Activation, get_activation
from aelab.backprop.function import LinearActFunction, linear_act
from aelab.backprop.layer import LectureLinear
from aelab.backprop.loss import half_mse, l2_penalty

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "LectureLinear",
    "LinearActFunction",
    "get_activation",
    "half_mse",
    "l2_penalty",
    "linear_act",
]
