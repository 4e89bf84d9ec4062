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

from aelab.backprop import Activation
from aelab.models.config import INITS


def init_layer(layer: nn.Linear | nn.Conv2d, scheme: str) -> None:
    """Initialise one weight layer (which carries its activation as ``layer.act``)."""
    if scheme not in INITS:
        raise ValueError(f"unknown init {scheme!r}; init must be one of: {', '.join(INITS)}")
    if scheme == "torch_default":
        return
    act: Activation = layer.act  # type: ignore[assignment]  # every aelab weight layer carries it
    if scheme == "auto":
        scheme = act.init
    if scheme == "kaiming":
        fan_in = nn.init._calculate_correct_fan(layer.weight, "fan_in")
        nn.init.normal_(layer.weight, 0.0, act.gain / math.sqrt(fan_in))
    else:
        nn.init.xavier_uniform_(layer.weight, gain=act.gain)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
