"""``MLPAutoencoder``: 784 → hidden … → code → hidden … → 784, every layer the lecture's layer."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from aelab.backprop import LectureSequential
from aelab.models import register
from aelab.models.base import IMAGE_SHAPE, INPUT_DIM, Autoencoder, Size
from aelab.models.layers import dense
from aelab.models.mlp.config import MLPConfig


@register("mlp", MLPConfig)
class MLPAutoencoder(Autoencoder):
    """Fully connected autoencoder.

    The encoder has ``depth`` layers (``depth − 1`` hidden layers of ``width`` units, then the
    code layer), or the explicit sizes ``hidden`` (e.g. ``[1000, 500, 250]`` for Hinton &
    Salakhutdinov's 784-1000-500-250-30); the decoder mirrors it. Hidden layers use
    ``activation``, the code layer ``code_activation`` (linear by default), the output layer gives
    logits (σ is applied in ``forward``). Each layer is ``z = W x + b``, ``x' = φ(z)``.
    """

    family = "mlp"
    config: MLPConfig

    def __init__(
        self,
        depth: int = 4,
        width: int = 256,
        code_dim: int = 30,
        activation: str = "relu",
        code_activation: str = "identity",
        impl: str = "lecture",
        init: str = "auto",
        hidden: Sequence[int] | None = None,
        output_activation: str = "sigmoid",
    ) -> None:
        super().__init__(
            MLPConfig(
                depth=depth,
                width=width,
                code_dim=code_dim,
                activation=activation,
                code_activation=code_activation,
                impl=impl,
                init=init,
                hidden=None if hidden is None else list(hidden),
                output_activation=output_activation,
            )
        )
        self.sizes = self.config.sizes(INPUT_DIM)
        n_hidden = len(self.sizes) - 2
        enc = [
            dense(impl, n_in, n_out, activation if i < n_hidden else code_activation)
            for i, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:]))
        ]
        back = self.sizes[::-1]
        dec = [
            dense(impl, n_in, n_out, activation if i < n_hidden else "identity")
            for i, (n_in, n_out) in enumerate(zip(back[:-1], back[1:]))
        ]
        # LectureSequential: each run of lecture layers is one Function (the same numbers, faster)
        self.encoder = LectureSequential(nn.Flatten(), *enc)
        self.decoder = LectureSequential(*dec, nn.Unflatten(1, IMAGE_SHAPE))
        self._finish()

    @staticmethod
    def size(config: MLPConfig) -> Size:
        sizes = config.sizes(INPUT_DIM)
        # weights both ways, biases of the encoder (sizes[1:]) and of the decoder (sizes[:-1])
        params = 2 * sum(n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:])) + sum(sizes[1:]) + sum(sizes[:-1])
        keys = (
            {"model.hidden": config.hidden}
            if config.hidden is not None
            else {"depth": config.depth, "model.width": config.width}
        )
        return Size(params=params, floats_per_example=2 * sum(sizes), keys={**keys, "model.code_dim": config.code_dim})

    def layer_sizes(self) -> list[str]:
        return [str(s) for s in self.sizes + self.sizes[-2::-1]]
