"""Weight initialization per activation; deep sigmoid networks depend on it.

``auto`` takes each layer's scheme from its activation's row in
:data:`aelab.backprop.ACTIVATIONS`: Glorot/Xavier (variance 2/(fan_in + fan_out)) for sigmoid,
tanh, identity and softplus, He/Kaiming (variance 2/fan_in) for relu and leaky_relu, each scaled by
the activation's gain; biases start at zero. ``torch_default`` keeps ``nn.Linear``/``nn.Conv2d``'s
init.
"""

from __future__ import annotations

import math

from torch import nn

INITS = ("auto", "xavier", "kaiming", "torch_default")


def init_layer(layer: nn.Module, scheme: str) -> None:
    """Initialise one weight layer (which carries its activation as ``layer.act``)."""
    if scheme not in INITS:
        raise ValueError(f"unknown init {scheme!r}; init must be one of: {', '.join(INITS)}")
    if scheme == "torch_default":
        return
    act = layer.act
    if scheme == "auto":
        scheme = act.init
    weight = layer.weight
    assert isinstance(weight, nn.Parameter)
    if scheme == "kaiming":
        fan_in = nn.init._calculate_correct_fan(weight, "fan_in")
        nn.init.normal_(weight, 0.0, act.gain / math.sqrt(fan_in))
    else:
        nn.init.xavier_uniform_(weight, gain=act.gain)
    if isinstance(layer.bias, nn.Parameter):
        nn.init.zeros_(layer.bias)
