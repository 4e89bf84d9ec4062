"""``ConvAutoencoder``: the lecture's "local convolution + decimation", then fully connected
layers to the code; the decoder mirrors it with upsampling + convolution."""

from __future__ import annotations

from torch import nn

from aelab.backprop import LectureSequential
from aelab.models import register
from aelab.models.base import Autoencoder, Size
from aelab.models.conv.config import ConvConfig
from aelab.models.layers import conv, dense

MAX_DECIMATIONS = 2  # 28 → 14 → 7; a third stride-2 step would not divide 7 evenly


def _shape(depth: int, channels: int, code_dim: int, fc_hidden: int) -> dict:
    """Channels per convolution, the side of the last feature map, the fully connected sizes."""
    chans = [1] + [channels * (2 if i >= 1 else 1) for i in range(depth)]
    side = 28 // 2 ** min(depth, MAX_DECIMATIONS)
    fc = [chans[-1] * side * side, *([fc_hidden] if fc_hidden else []), code_dim]
    return {"chans": chans, "side": side, "fc": fc}


@register("conv", ConvConfig)
class ConvAutoencoder(Autoencoder):
    """Convolutional autoencoder on 1×28×28 images.

    Encoder: ``depth`` convolutions (k×k, "same" padding); the first two decimate with stride 2
    (28 → 14 → 7), later ones keep 7×7. Channels start at ``channels`` and double at the second
    decimation. Then a fully connected layer (optionally ``fc_hidden`` first) gives the code.
    Decoder: fully connected back to the last feature map, then per block nearest-neighbour
    upsampling where the encoder decimated and a convolution; the last gives 1 channel of logits.
    With ``impl=lecture`` every convolution has the lecture's hand-written backward
    (``conv_kernel``: its sums by the convolution primitive, or the dense Function on unfolded patches).
    """

    family = "conv"

    def __init__(
        self,
        depth: int = 2,
        channels: int = 32,
        code_dim: int = 30,
        activation: str = "relu",
        code_activation: str = "identity",
        impl: str = "lecture",
        init: str = "auto",
        kernel_size: int = 3,
        fc_hidden: int = 0,
        output_activation: str = "sigmoid",
        conv_kernel: str = "primitive",
    ) -> None:
        super().__init__(
            ConvConfig(
                depth=depth,
                channels=channels,
                code_dim=code_dim,
                activation=activation,
                code_activation=code_activation,
                impl=impl,
                init=init,
                kernel_size=kernel_size,
                fc_hidden=fc_hidden,
                output_activation=output_activation,
                conv_kernel=conv_kernel,
            )
        )
        pad = kernel_size // 2
        strides = [2 if i < MAX_DECIMATIONS else 1 for i in range(depth)]
        self.sizes = _shape(depth, channels, code_dim, fc_hidden)
        chans, side, fc = self.sizes["chans"], self.sizes["side"], self.sizes["fc"]

        enc: list[nn.Module] = [
            conv(impl, chans[i], chans[i + 1], kernel_size, strides[i], pad, activation, conv_kernel)
            for i in range(depth)
        ]
        enc.append(nn.Flatten())
        enc += [
            dense(impl, n_in, n_out, activation if i < len(fc) - 2 else code_activation)
            for i, (n_in, n_out) in enumerate(zip(fc[:-1], fc[1:]))
        ]
        back = fc[::-1]
        dec: list[nn.Module] = [dense(impl, n_in, n_out, activation) for n_in, n_out in zip(back[:-1], back[1:])]
        dec.append(nn.Unflatten(1, (chans[-1], side, side)))
        for i in reversed(range(depth)):
            if strides[i] == 2:
                dec.append(nn.Upsample(scale_factor=2, mode="nearest"))
            last = i == 0
            dec.append(
                conv(impl, chans[i + 1], chans[i], kernel_size, 1, pad, "identity" if last else activation, conv_kernel)
            )
        self.encoder = LectureSequential(*enc)  # runs of fully connected lecture layers: one Function each
        self.decoder = LectureSequential(*dec)
        self._finish()

    @staticmethod
    def size(config: ConvConfig) -> Size:
        s = _shape(config.depth, config.channels, config.code_dim, config.fc_hidden)
        k2, chans, fc = config.kernel_size**2, s["chans"], s["fc"]
        convs = sum(k2 * c_in * c_out + c_out + k2 * c_out * c_in + c_in for c_in, c_out in zip(chans[:-1], chans[1:]))
        dense_ = sum(2 * n_in * n_out + n_in + n_out for n_in, n_out in zip(fc[:-1], fc[1:]))
        # feature maps kept for backward, both sides: 28² at the first convolution's input, then
        # each convolution's output (and the upsampled maps); an upper bound of 3× the encoder's
        sides = [28 // 2 ** min(i + 1, MAX_DECIMATIONS) for i in range(config.depth)]
        maps = 28 * 28 + sum(side * side * c for side, c in zip(sides, chans[1:]))
        return Size(
            params=convs + dense_,
            floats_per_example=3 * maps + 2 * sum(fc),
            keys={
                "depth": config.depth,
                "model.channels": config.channels,
                "model.fc_hidden": config.fc_hidden,
                "model.code_dim": config.code_dim,
            },
        )

    def layer_sizes(self) -> list[str]:
        s = self.sizes
        convs = [f"c{c}" for c in s["chans"][1:]]
        fc = [str(n) for n in s["fc"]]
        return convs + fc + fc[-2::-1] + [f"c{c}" for c in s["chans"][-2::-1]]
