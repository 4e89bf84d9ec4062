"""``ResConvAutoencoder``: decimation, residual blocks, then fully connected to the code; the decoder
mirrors it. The skip connections are the other answer to vanishing gradients beside ReLU."""

from __future__ import annotations

from torch import Tensor, nn

from aelab.backprop import LectureSequential
from aelab.models.base import Autoencoder
from aelab.models.layers import conv, dense
from aelab.models.resconv.config import ResConvConfig


class ResidualBlock(nn.Module):
    """``y = x + α · conv_b(φ(conv_a(x)))``, α = 1/√depth: two of the lecture's convolution layers
    (k×k, stride 1, "same" padding, C → C channels; ``conv_a`` with the activation φ, ``conv_b`` with
    the identity, so its output is the branch's sum itself) and a skip connection.

    Nothing sits on the skip path — no φ after the sum — so its Jacobian is exactly the identity and

        ∂E/∂x = ∂E/∂y + α · (conv_a's backward of conv_b's backward of ∂E/∂y)

    δ reaches the block's input through the sum undiminished, however small φ' makes the branch's
    share (σ' ≤ 1/4): the first layers get a gradient as large as the last ones'.

    Why the branch ends linear and scaled: a branch ending in φ (``x + φ(conv(φ(conv(x))))``) adds
    relu's non-negative outputs to the stream at every block, and with no normalisation layer the
    stream grows with depth (at init the logits' std was 2.3 at depth 2 and 290 at depth 8, where the
    output σ saturates: 1.1 and 2.4 with the branch below). A linear
    branch adds zero-mean updates; α = 1/√depth keeps the stream's variance within e ≈ (1 + 1/depth)^depth
    of the input's over the blocks of one side, whatever the depth. α is a constant of the network, not
    a weight: init, the δ probe and the penalty see the two layers as any others.
    """

    def __init__(self, impl: str, channels: int, kernel_size: int, activation: str, kernel: str, alpha: float) -> None:
        super().__init__()
        pad = kernel_size // 2
        self.alpha = alpha
        # registered in the order forward runs them: Autoencoder.layers() lists them so
        self.conv_a = conv(impl, channels, channels, kernel_size, 1, pad, activation, kernel)
        self.conv_b = conv(impl, channels, channels, kernel_size, 1, pad, "identity", kernel)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.alpha * self.conv_b(self.conv_a(x))

    def extra_repr(self) -> str:
        return f"alpha={self.alpha:.4g}"


class ResConvAutoencoder(Autoencoder):
    """Residual convolutional autoencoder on C×H×W images.

    Encoder: a stem convolution (C → ``channels``) and a down convolution (→ 2·``channels``), each
    k×k with stride 2 (28 → 14 → 7 on MNIST, 32 → 16 → 8 on 32×32, any side by ⌈n/2⌉), then
    ``depth`` residual blocks (:class:`ResidualBlock`: ``x + α·conv(φ(conv(x)))``) at that size,
    then a fully connected layer to the code. Decoder: fully connected back to the blocks' feature
    map, ``depth`` residual blocks, then per decimation nearest-neighbour upsampling to the size
    that convolution took in and a convolution; the last gives C channels of logits. With
    ``impl=lecture`` every convolution has the lecture's hand-written backward.
    """

    family = "resconv"
    config: ResConvConfig

    def __init__(self, config: ResConvConfig, shape: tuple[int, int, int]) -> None:
        super().__init__(config, shape)
        g = self.geometry = config.geometry(self.shape)
        impl, act, k, kernel = config.impl, config.activation, config.kernel_size, config.conv_kernel
        (c, c1, c2), pad = g.chans, k // 2

        def blocks() -> list[nn.Module]:
            return [ResidualBlock(impl, c2, k, act, kernel, config.depth**-0.5) for _ in range(config.depth)]

        enc: list[nn.Module] = [
            conv(impl, c, c1, k, 2, pad, act, kernel),  # the stem
            conv(impl, c1, c2, k, 2, pad, act, kernel),  # the down convolution
            *blocks(),
            nn.Flatten(),
            dense(impl, g.fc[0], g.fc[1], config.code_activation),
        ]
        dec: list[nn.Module] = [
            dense(impl, g.fc[1], g.fc[0], act),
            nn.Unflatten(1, (c2, *g.last)),
            *blocks(),
            nn.Upsample(size=g.sides[1], mode="nearest"),
            conv(impl, c2, c1, k, 1, pad, act, kernel),
            nn.Upsample(size=g.sides[0], mode="nearest"),
            conv(impl, c1, c, k, 1, pad, "identity", kernel),  # logits
        ]
        self.encoder = LectureSequential(*enc)
        self.decoder = LectureSequential(*dec)
        self._finish()

    def layer_sizes(self) -> list[str]:
        (c, c1, c2), blocks = self.geometry.chans, f"{self.config.depth}×r{self.geometry.chans[2]}"
        fc = [str(n) for n in self.geometry.fc]
        return [f"c{c1}", f"c{c2}", blocks, *fc, fc[0], blocks, f"c{c1}", f"c{c}"]


MODEL = ResConvAutoencoder
