"""``MLPAutoencoder``: 784 → hidden … → code → hidden … → 784, every layer the lecture's layer."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from aelab.models.base import IMAGE_SHAPE, INPUT_DIM, Autoencoder, check_code_dim, check_positive
from aelab.models.layers import check_impl, dense


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
        check_code_dim(code_dim)
        if hidden is None:
            check_positive("depth", depth)
            check_positive("width", width)
            hidden = [width] * (depth - 1)
        else:
            hidden = list(hidden)
            for i, h in enumerate(hidden):
                check_positive(f"hidden[{i}]", h)
        self.sizes = [INPUT_DIM, *hidden, code_dim]
        enc = [
            dense(impl, n_in, n_out, activation if i < len(hidden) else code_activation)
            for i, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:]))
        ]
        back = self.sizes[::-1]
        dec = [
            dense(impl, n_in, n_out, activation if i < len(hidden) else "identity")
            for i, (n_in, n_out) in enumerate(zip(back[:-1], back[1:]))
        ]
        self.encoder = nn.Sequential(nn.Flatten(), *enc)
        self.decoder = nn.Sequential(*dec, nn.Unflatten(1, IMAGE_SHAPE))
        self._finish()

    def layer_sizes(self) -> list[str]:
        return [str(s) for s in self.sizes + self.sizes[-2::-1]]
