"""Weight initialization per activation; deep sigmoid networks depend on it.

``auto`` picks Glorot/Xavier (variance 2/(fan_in + fan_out)) for sigmoid, tanh, identity and
softplus, and He/Kaiming (variance 2/fan_in) for relu and leaky_relu, each layer by its own
activation; biases start at zero. ``torch_default`` keeps ``nn.Linear``/``nn.Conv2d``'s init.
"""

from __future__ import annotations

import math

from torch import nn

INITS = ("auto", "xavier", "kaiming", "torch_default")
_RELU_LIKE = ("relu", "leaky_relu")


def _gain(activation: str) -> float:
    if activation == "tanh":
        return nn.init.calculate_gain("tanh")
    if activation == "leaky_relu":
        return nn.init.calculate_gain("leaky_relu", 0.01)
    if activation == "relu":
        return math.sqrt(2.0)
    return 1.0  # identity, sigmoid, softplus


def init_layer(layer: nn.Module, scheme: str) -> None:
    """Initialise one weight layer (which carries its activation as ``layer.act``)."""
    if scheme not in INITS:
        raise ValueError(f"unknown init {scheme!r}; init must be one of: {', '.join(INITS)}")
    if scheme == "torch_default":
        return
    activation = layer.act.name
    if scheme == "auto":
        scheme = "kaiming" if activation in _RELU_LIKE else "xavier"
    if scheme == "kaiming":
        fan_in = nn.init._calculate_correct_fan(layer.weight, "fan_in")
        nn.init.normal_(layer.weight, 0.0, _gain(activation) / math.sqrt(fan_in))
    else:
        nn.init.xavier_uniform_(layer.weight, gain=_gain(activation))
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
