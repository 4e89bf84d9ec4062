"""``MLPAutoencoder``: 784 → hidden … → code → hidden … → 784, every layer the lecture's layer."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from aelab.models import register
from aelab.models.base import IMAGE_SHAPE, INPUT_DIM, Autoencoder, Size
from aelab.models.layers import check_impl, dense
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
        check_impl(impl)
        super().__init__(activation, code_activation, impl, init, output_activation)
        config = MLPConfig(depth=depth, width=width, code_dim=code_dim, hidden=None if hidden is None else list(hidden))
        for key, value in (("depth", depth), ("width", width), ("code_dim", code_dim), *(
                (f"hidden[{i}]", h) for i, h in enumerate(config.hidden or []))):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{key} must be an integer >= 1, got {value!r}")
        if code_dim > INPUT_DIM:
            raise ValueError(f"code_dim must be between 1 and the input size {INPUT_DIM}, got {code_dim}")
        self.sizes = config.sizes(INPUT_DIM)
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
        self.encoder = nn.Sequential(nn.Flatten(), *enc)
        self.decoder = nn.Sequential(*dec, nn.Unflatten(1, IMAGE_SHAPE))
        self._finish()

    @classmethod
    def from_config(cls, config: MLPConfig) -> "MLPAutoencoder":
        return cls(depth=config.depth, width=config.width, code_dim=config.code_dim, activation=config.activation,
                   code_activation=config.code_activation, impl=config.impl, init=config.init,
                   hidden=config.hidden, output_activation=config.output_activation)

    @staticmethod
    def size(config: MLPConfig) -> Size:
        sizes = config.sizes(INPUT_DIM)
        # weights both ways, biases of the encoder (sizes[1:]) and of the decoder (sizes[:-1])
        params = 2 * sum(n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:])) + sum(sizes[1:]) + sum(sizes[:-1])
        keys = {"model.hidden": config.hidden} if config.hidden is not None else {"depth": config.depth,
                                                                                 "model.width": config.width}
        return Size(params=params, floats_per_example=2 * sum(sizes), keys={**keys, "model.code_dim": config.code_dim})

    def layer_sizes(self) -> list[str]:
        return [str(s) for s in self.sizes + self.sizes[-2::-1]]
