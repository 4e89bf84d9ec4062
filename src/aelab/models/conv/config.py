"""``model=conv``: the convolutional autoencoder's keys and its geometry on any image shape
(conf/model/conv.yaml chooses it). Nothing here imports torch."""

from __future__ import annotations

import math
from dataclasses import dataclass

from aelab.keys import key
from aelab.models.config import ModelConfig, Size

KERNEL_SIZES = (3, 5)
KERNELS = ("primitive", "unfold")  # how the lecture's convolution sums are computed (aelab.backprop.conv)
MAX_DECIMATIONS = 2  # stride-2 convolutions: 28 → 14 → 7, 32 → 16 → 8, 8 → 4 → 2


@dataclass(frozen=True)
class Geometry:
    """The network's shapes on C×H×W images: channels per convolution (input first), the (H, W)
    of each convolution's input and of the last feature map, the strides, the fully connected sizes."""

    chans: list[int]
    sides: list[tuple[int, int]]  # the input (H, W) of each convolution, then the last map's
    strides: list[int]
    fc: list[int]

    @property
    def last(self) -> tuple[int, int]:
        return self.sides[-1]


@dataclass
class ConvConfig(ModelConfig):
    family: str = key("conv", "local convolution + decimation, then fully connected to the code", hparam="family")
    channels: int = key(32, "channels of the first convolution (doubled from the second on)", low=1, hparam="channels")
    kernel_size: int = key(3, "the convolutions' k×k", choices=KERNEL_SIZES, hparam="kernel_size")
    fc_hidden: int = key(0, "an extra fully connected layer before the code (0: none)", low=0, hparam="fc_hidden")
    conv_kernel: str = key(
        "primitive",
        "impl=lecture: the lecture's sums by the convolution primitive, or the dense Function on unfolded patches",
        choices=KERNELS,
        missing="unfold",
    )

    def geometry(self, shape: tuple[int, int, int]) -> Geometry:
        """Each of the first two convolutions halves the side (⌈n/2⌉, "same" padding); the decoder
        upsamples back to exactly each convolution's input size, so odd sides come back whole."""
        c, h, w = shape
        chans = [c] + [self.channels * (2 if i >= 1 else 1) for i in range(self.depth)]
        strides = [2 if i < MAX_DECIMATIONS else 1 for i in range(self.depth)]
        sides = [(h, w)]
        for stride in strides:
            h, w = -(-h // stride), -(-w // stride)
            sides.append((h, w))
        fc = [chans[-1] * h * w, *([self.fc_hidden] if self.fc_hidden else []), self.code_dim]
        return Geometry(chans, sides, strides, fc)

    def size(self, shape: tuple[int, int, int]) -> Size:
        g = self.geometry(shape)
        k2 = self.kernel_size**2
        convs = sum(2 * k2 * c_in * c_out + c_out + c_in for c_in, c_out in zip(g.chans[:-1], g.chans[1:]))
        dense = sum(2 * n_in * n_out + n_in + n_out for n_in, n_out in zip(g.fc[:-1], g.fc[1:]))
        # feature maps kept for backward, both sides: the input, then each convolution's output
        # (and the upsampled maps); an upper bound of 3× the encoder's
        maps = math.prod(shape) + sum(h * w * c for (h, w), c in zip(g.sides[1:], g.chans[1:]))
        keys = {"depth": self.depth, "model.channels": self.channels, "model.fc_hidden": self.fc_hidden}
        return Size(convs + dense, 3 * maps + 2 * sum(g.fc), {**keys, "model.code_dim": self.code_dim})


CONFIG = ConvConfig
