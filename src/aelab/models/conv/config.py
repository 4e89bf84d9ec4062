"""``model=conv``: the convolutional autoencoder's config (conf/model/conv.yaml fills it)."""

from __future__ import annotations

from dataclasses import dataclass

from aelab.backprop.conv import KERNELS
from aelab.models.base import ModelConfig, check_at_least, check_choice

KERNEL_SIZES = (3, 5)


@dataclass
class ConvConfig(ModelConfig):
    family: str = "conv"
    channels: int = 32  # of the first convolution (doubled from the second on)
    kernel_size: int = 3
    fc_hidden: int = 0  # an extra fully connected layer before the code (0 = none)
    # impl=lecture: how the lecture's convolution sums are computed (aelab.backprop.conv):
    # primitive (the convolution primitive's backward) | unfold (the dense Function on patches)
    conv_kernel: str = "primitive"

    def check(self) -> None:
        super().check()
        check_at_least("model.channels", self.channels, 1)
        check_choice("model.kernel_size", self.kernel_size, KERNEL_SIZES)
        check_at_least("model.fc_hidden", self.fc_hidden, 0)
        check_choice("model.conv_kernel", self.conv_kernel, KERNELS)
