"""``ConvAutoencoder``: the lecture's "local convolution + decimation", then fully connected
layers to the code; the decoder mirrors it with upsampling + convolution."""

from __future__ import annotations

from torch import nn

from aelab.backprop import LectureSequential
from aelab.models.base import Autoencoder
from aelab.models.conv.config import ConvConfig
from aelab.models.layers import conv, dense


class ConvAutoencoder(Autoencoder):
    """Convolutional autoencoder on C×H×W images.

    Encoder: ``depth`` convolutions (k×k, "same" padding); the first two decimate with stride 2
    (28 → 14 → 7 on MNIST, 32 → 16 → 8 on 32×32), later ones keep the size. Channels start at
    ``channels`` and double at the second convolution. Then a fully connected layer (optionally
    ``fc_hidden`` first) gives the code. Decoder: fully connected back to the last feature map, then
    per block nearest-neighbour upsampling to the size the encoder's convolution took in, and a
    convolution; the last gives C channels of logits. With ``impl=lecture`` every convolution has
    the lecture's hand-written backward (``conv_kernel``: its sums by the convolution primitive, or
    the dense Function on unfolded patches).
    """

    family = "conv"
    config: ConvConfig

    def __init__(self, config: ConvConfig, shape: tuple[int, int, int]) -> None:
        super().__init__(config, shape)
        g = self.geometry = config.geometry(self.shape)
        impl, act, k, kernel = config.impl, config.activation, config.kernel_size, config.conv_kernel
        pad, depth = k // 2, config.depth
        enc: list[nn.Module] = [
            conv(impl, g.chans[i], g.chans[i + 1], k, g.strides[i], pad, act, kernel) for i in range(depth)
        ]
        enc.append(nn.Flatten())
        enc += [
            dense(impl, n_in, n_out, act if i < len(g.fc) - 2 else config.code_activation)
            for i, (n_in, n_out) in enumerate(zip(g.fc[:-1], g.fc[1:]))
        ]
        back = g.fc[::-1]
        dec: list[nn.Module] = [dense(impl, n_in, n_out, act) for n_in, n_out in zip(back[:-1], back[1:])]
        dec.append(nn.Unflatten(1, (g.chans[-1], *g.last)))
        for i in reversed(range(depth)):
            if g.strides[i] == 2:
                dec.append(nn.Upsample(size=g.sides[i], mode="nearest"))
            out_act = "identity" if i == 0 else act
            dec.append(conv(impl, g.chans[i + 1], g.chans[i], k, 1, pad, out_act, kernel))
        self.encoder = LectureSequential(*enc)  # runs of fully connected lecture layers: one Function each
        self.decoder = LectureSequential(*dec)
        self._finish()

    def layer_sizes(self) -> list[str]:
        g = self.geometry
        convs = [f"c{c}" for c in g.chans[1:]]
        fc = [str(n) for n in g.fc]
        return convs + fc + fc[-2::-1] + [f"c{c}" for c in g.chans[-2::-1]]


MODEL = ConvAutoencoder
