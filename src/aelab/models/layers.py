"""The building blocks of every autoencoder, in two implementations with one state_dict.

* ``impl="lecture"``: :class:`~aelab.backprop.LectureLinear` and :class:`~aelab.backprop.LectureConv2d`,
  whose backward is the hand-written Function (a convolution is that same layer applied to
  unfolded patches).
* ``impl="torch"``: :class:`TorchLinear` and :class:`TorchConv2d`, native ``nn.Linear`` /
  ``nn.Conv2d`` followed by the torch activation (the autograd reference).

Each class subclasses the native layer, so parameter names, shapes and default init are
identical and one ``state_dict`` loads into either implementation.
"""

from __future__ import annotations

from torch import Tensor, nn

from aelab.backprop import LectureConv2d, LectureLinear, get_activation
from aelab.models.config import IMPLS


class TorchLinear(nn.Linear):
    """``φ(x Wᵀ + b)`` with native autograd (the reference twin of LectureLinear)."""

    def __init__(self, in_features: int, out_features: int, activation: str = "identity", bias: bool = True):
        self.act = get_activation(activation)
        super().__init__(in_features, out_features, bias=bias)
        self.phi = self.act.torch_module()

    def forward(self, x: Tensor) -> Tensor:
        return self.phi(super().forward(x))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, activation={self.act.name}"


class TorchConv2d(nn.Conv2d):
    """``φ(conv(x))`` with native autograd (the reference twin of LectureConv2d)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        activation: str = "identity",
    ):
        self.act = get_activation(activation)
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding)
        self.phi = self.act.torch_module()

    def forward(self, x: Tensor) -> Tensor:
        return self.phi(super().forward(x))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, activation={self.act.name}"


# Every weight layer of an aelab model: a native nn.Linear / nn.Conv2d with its activation in `.act`.
WeightLayer = LectureLinear | TorchLinear | LectureConv2d | TorchConv2d
WEIGHT_LAYER_TYPES = (LectureLinear, TorchLinear, LectureConv2d, TorchConv2d)  # for isinstance


def check_impl(impl: str) -> str:
    if impl not in IMPLS:
        raise ValueError(f"unknown impl {impl!r}; impl must be one of: {', '.join(IMPLS)}")
    return impl


def dense(impl: str, n_in: int, n_out: int, activation: str) -> nn.Linear:
    cls = LectureLinear if check_impl(impl) == "lecture" else TorchLinear
    return cls(n_in, n_out, activation)


def conv(
    impl: str,
    c_in: int,
    c_out: int,
    kernel_size: int,
    stride: int,
    padding: int,
    activation: str,
    kernel: str = "primitive",
) -> nn.Conv2d:
    """A convolution + activation; ``kernel`` (primitive | unfold) chooses how the lecture layer
    computes its sums (the torch twin has one way)."""
    if check_impl(impl) == "lecture":
        return LectureConv2d(
            c_in, c_out, kernel_size, stride=stride, padding=padding, activation=activation, kernel=kernel
        )
    return TorchConv2d(c_in, c_out, kernel_size, stride=stride, padding=padding, activation=activation)
