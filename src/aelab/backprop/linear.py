"""``LectureLinear``: an ``nn.Linear`` whose forward and backward are the lecture's Function."""

from __future__ import annotations

from torch import Tensor, nn

from aelab.backprop.activations import get_activation
from aelab.backprop.function import linear_act


class LectureLinear(nn.Linear):
    """``a = φ(x Wᵀ + b)`` computed by :class:`LinearActFunction`.

    Subclassing ``nn.Linear`` keeps its parameter names (``weight``, ``bias``), shapes and init,
    so a state_dict moves between this layer and ``nn.Linear`` + activation unchanged.
    """

    def __init__(self, in_features: int, out_features: int, activation: str = "identity", bias: bool = True) -> None:
        self.act = get_activation(activation)  # validate before allocating parameters
        super().__init__(in_features, out_features, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        lead = x.shape[:-1]
        out = linear_act(x.reshape(-1, self.in_features), self.weight, self.bias, self.act)
        return out.reshape(*lead, self.out_features)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, activation={self.act.name}"
