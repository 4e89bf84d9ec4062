"""``model=resconv``: the residual convolutional autoencoder's keys and its geometry on any image
shape (conf/model/resconv.yaml chooses it). Nothing here imports torch.

``depth`` counts residual blocks per side: the unit a skip connection spans, two convolutions each.
``depth=8`` puts 16 convolutions between the decimating ones and the code, twice as many weight
layers as ``model=conv depth=8`` has in all, so at equal depth the comparison of how far the
gradient reaches is, if anything, harder on this family.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aelab.keys import key
from aelab.models.config import ModelConfig, Size

KERNEL_SIZES = (3, 5)
KERNELS = ("primitive", "unfold")  # how the lecture's convolution sums are computed (aelab.backprop.conv)
DECIMATIONS = 2  # the stem and the down convolution halve the side: 28 → 14 → 7, 32 → 16 → 8, 5 → 3 → 2


@dataclass(frozen=True)
class ResGeometry:
    """The network's shapes on C×H×W images: channels of the input, the stem and the blocks; the
    (H, W) of the input, after the stem and at the blocks; the fully connected sizes."""

    chans: tuple[int, int, int]
    sides: tuple[tuple[int, int], tuple[int, int], tuple[int, int]]
    fc: tuple[int, int]

    @property
    def last(self) -> tuple[int, int]:
        return self.sides[-1]


@dataclass
class ResConvConfig(ModelConfig):
    family: str = key(
        "resconv", "residual blocks x + α·conv(φ(conv(x))) after decimation, then fully connected", hparam="family"
    )
    channels: int = key(
        16,
        "channels of the stem convolution; the down convolution and the blocks have twice as many",
        low=1,
        hparam="channels",
    )
    kernel_size: int = key(3, "the convolutions' k×k", choices=KERNEL_SIZES, hparam="kernel_size")
    conv_kernel: str = key(
        "primitive",
        "impl=lecture: the lecture's sums by the convolution primitive, or the dense Function on unfolded patches",
        choices=KERNELS,
    )

    def geometry(self, shape: tuple[int, int, int]) -> ResGeometry:
        """The stem and the down convolution each halve the side (⌈n/2⌉, "same" padding); the blocks
        keep it; the decoder upsamples back to exactly each decimation's input size, so odd sides
        come back whole."""
        c, h, w = shape
        sides = [(h, w)]
        for _ in range(DECIMATIONS):
            h, w = -(-h // 2), -(-w // 2)
            sides.append((h, w))
        chans = (c, self.channels, 2 * self.channels)
        return ResGeometry(chans, (sides[0], sides[1], sides[2]), (chans[2] * h * w, self.code_dim))

    def size(self, shape: tuple[int, int, int]) -> Size:
        g = self.geometry(shape)
        k2 = self.kernel_size**2
        c, c1, c2 = g.chans
        # each side: the decimating pair (stem, down) and `depth` blocks of two c2 → c2 convolutions
        convs = 2 * (k2 * (c * c1 + c1 * c2) + 2 * self.depth * k2 * c2 * c2)
        biases = c1 + c2 + c1 + c + 4 * self.depth * c2
        dense = 2 * g.fc[0] * g.fc[1] + g.fc[0] + g.fc[1]
        # maps kept for backward on both sides: each convolution's output (and the sums, the upsampled maps)
        (h1, w1), (h2, w2) = g.sides[1], g.sides[2]
        maps = math.prod(shape) + h1 * w1 * c1 + (1 + 3 * self.depth) * h2 * w2 * c2
        keys = {"depth": self.depth, "model.channels": self.channels, "model.code_dim": self.code_dim}
        return Size(convs + biases + dense, 3 * maps + 2 * sum(g.fc), keys)


CONFIG = ResConvConfig
