"""The lecture's backpropagation, written by hand. Nothing here imports the rest of aelab.

* :func:`linear_act` / :class:`LinearActFunction`: ``a = φ(x Wᵀ + b)`` with
  ``δ = g ⊙ φ'``, ``∂E/∂W = δᵀx``, ``∂E/∂b = Σδ``, ``∂E/∂x = δW``.
* :data:`ACTIVATIONS`: one row per activation, one module each (:mod:`aelab.backprop.activations`):
  φ and φ' side by side, its init and saturation; :class:`Activation` says what a row holds.
* :class:`LectureLinear`: the Function as an ``nn.Linear``.
* :class:`LectureConv2d`: a convolution as the same layer on patches: :func:`conv_act`
  (:class:`ConvActFunction`, the products by the convolution primitive) or :func:`unfolded_conv2d`
  (literally the dense layer's Function on unfolded patches).
* :func:`stack_act` / :class:`LectureSequential`: a run of layers as one Function whose backward
  is the lecture's recursion written as one loop, δ^(l) = (W^(l+1)ᵀ δ^(l+1)) ⊙ φ'(z^(l)).
* :func:`pre_activation` / :func:`dphi_input`: a weight layer's z, and what its φ' is computed from.
* :func:`half_mse`, :func:`l2_penalty`: the lecture's loss and L2 term with their gradients;
  :func:`bce_with_logits`: the cross-entropy of a sigmoid output, whose δ^(L) is x^(L) − y.

Imports are lazy: ``ACTIVATIONS.names()`` and ``"relu" in ACTIVATIONS`` list the rows from their
folder without importing torch (the command line checks ``activation=...`` before anything heavy
loads); torch loads with the first row looked up or the first Function used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aelab.backprop.activation import Activation
    from aelab.backprop.activations import ACTIVATIONS, get_activation
    from aelab.backprop.conv import ConvActFunction, LectureConv2d, conv_act, unfolded_conv2d
    from aelab.backprop.function import LinearActFunction, linear_act
    from aelab.backprop.linear import LectureLinear
    from aelab.backprop.loss import bce_with_logits, half_mse, l2_penalty
    from aelab.backprop.preactivation import dphi_input, pre_activation
    from aelab.backprop.stack import LectureSequential, StackActFunction, stack_act

_API = {
    "ACTIVATIONS": "aelab.backprop.activations",
    "get_activation": "aelab.backprop.activations",
    "Activation": "aelab.backprop.activation",
    "ConvActFunction": "aelab.backprop.conv",
    "LectureConv2d": "aelab.backprop.conv",
    "conv_act": "aelab.backprop.conv",
    "unfolded_conv2d": "aelab.backprop.conv",
    "LinearActFunction": "aelab.backprop.function",
    "linear_act": "aelab.backprop.function",
    "LectureLinear": "aelab.backprop.linear",
    "bce_with_logits": "aelab.backprop.loss",
    "half_mse": "aelab.backprop.loss",
    "l2_penalty": "aelab.backprop.loss",
    "dphi_input": "aelab.backprop.preactivation",
    "pre_activation": "aelab.backprop.preactivation",
    "LectureSequential": "aelab.backprop.stack",
    "StackActFunction": "aelab.backprop.stack",
    "stack_act": "aelab.backprop.stack",
}


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'aelab.backprop' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])


__all__ = [
    "ACTIVATIONS",
    "Activation",
    "ConvActFunction",
    "LectureConv2d",
    "LectureLinear",
    "LectureSequential",
    "LinearActFunction",
    "StackActFunction",
    "bce_with_logits",
    "conv_act",
    "dphi_input",
    "get_activation",
    "half_mse",
    "l2_penalty",
    "linear_act",
    "pre_activation",
    "stack_act",
    "unfolded_conv2d",
]
