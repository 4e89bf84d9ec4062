"""The building blocks of both autoencoder families, in two implementations with one state_dict.

* ``impl="lecture"``: :class:`LectureLinear` and :class:`LectureConv2d`, whose backward is the
  hand-written Function (a convolution is that same layer applied to unfolded patches).
* ``impl="torch"``: :class:`TorchLinear` and :class:`TorchConv2d`, native ``nn.Linear`` /
  ``nn.Conv2d`` followed by the torch activation (the autograd reference).

Each class subclasses the native layer, so parameter names, shapes and default init are
identical and one ``state_dict`` loads into either implementation.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from aelab.backprop import LectureLinear, get_activation, linear_act

IMPLS = ("lecture", "torch")


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

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, activation: str = "identity"):
        self.act = get_activation(activation)
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding)
        self.phi = self.act.torch_module()

    def forward(self, x: Tensor) -> Tensor:
        return self.phi(super().forward(x))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, activation={self.act.name}"


def unfolded_conv2d(x: Tensor, weight: Tensor, bias: Tensor | None, stride: int, padding: int,
                    activation: str) -> Tensor:
    """A convolution as the lecture's fully connected layer on patches:

        patches = unfold(x)                     (N·H'·W', C·k·k), one row per output position
        a       = φ(patches Wᵀ + b)             the same hand-written Function, W viewed (C_out, C·k·k)
        out     = a reshaped to (N, C_out, H', W')

    ``unfold`` and the reshapes are plain tensor plumbing with native backward (fold/permutes);
    every multiply-accumulate and φ' goes through :class:`LinearActFunction`.
    """
    n, _, h, w = x.shape
    c_out, _, k, _ = weight.shape
    h_out = (h + 2 * padding - k) // stride + 1
    w_out = (w + 2 * padding - k) // stride + 1
    cols = F.unfold(x, k, padding=padding, stride=stride)  # (N, C·k·k, L)
    patches = cols.transpose(1, 2).reshape(n * h_out * w_out, -1)  # (N·L, C·k·k)
    a = linear_act(patches, weight.reshape(c_out, -1), bias, activation)  # (N·L, C_out)
    return a.reshape(n, h_out * w_out, c_out).transpose(1, 2).reshape(n, c_out, h_out, w_out)


class LectureConv2d(nn.Conv2d):
    """``φ(conv(x))`` whose backward is the hand-written Function on unfolded patches."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, activation: str = "identity"):
        self.act = get_activation(activation)
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding)

    def forward(self, x: Tensor) -> Tensor:
        return unfolded_conv2d(x, self.weight, self.bias, self.stride[0], self.padding[0], self.act)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, activation={self.act.name}"


def check_impl(impl: str) -> str:
    if impl not in IMPLS:
        raise ValueError(f"unknown impl {impl!r}; impl must be one of: {', '.join(IMPLS)}")
    return impl


def dense(impl: str, n_in: int, n_out: int, activation: str) -> nn.Linear:
    cls = LectureLinear if check_impl(impl) == "lecture" else TorchLinear
    return cls(n_in, n_out, activation)


def conv(impl: str, c_in: int, c_out: int, kernel_size: int, stride: int, padding: int, activation: str) -> nn.Conv2d:
    cls = LectureConv2d if check_impl(impl) == "lecture" else TorchConv2d
    return cls(c_in, c_out, kernel_size, stride=stride, padding=padding, activation=activation)
