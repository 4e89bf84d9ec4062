"""``MLPAutoencoder``: C·H·W → hidden … → code → hidden … → C·H·W, every layer the lecture's layer."""

from __future__ import annotations

from torch import nn

from aelab.backprop import LectureSequential
from aelab.models.base import Autoencoder
from aelab.models.layers import dense
from aelab.models.mlp.config import MLPConfig


class MLPAutoencoder(Autoencoder):
    """Fully connected autoencoder on flattened images.

    The encoder has ``depth`` layers (``depth − 1`` hidden layers of ``width`` units, then the
    code layer), or the explicit sizes ``hidden`` (e.g. ``[1000, 500, 250]`` for Hinton &
    Salakhutdinov's 784-1000-500-250-30 on MNIST); the decoder mirrors it. Hidden layers use
    ``activation``, the code layer ``code_activation`` (linear by default), the output layer gives
    logits (σ is applied in ``forward``). Each layer is ``z = W x + b``, ``x' = φ(z)``.
    """

    family = "mlp"
    config: MLPConfig

    def __init__(self, config: MLPConfig, shape: tuple[int, int, int]) -> None:
        super().__init__(config, shape)
        self.sizes = config.sizes(self.n_inputs)
        n_hidden = len(self.sizes) - 2
        impl, act, code_act = config.impl, config.activation, config.code_activation
        enc = [
            dense(impl, n_in, n_out, act if i < n_hidden else code_act)
            for i, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:]))
        ]
        back = self.sizes[::-1]
        dec = [
            dense(impl, n_in, n_out, act if i < n_hidden else "identity")
            for i, (n_in, n_out) in enumerate(zip(back[:-1], back[1:]))
        ]
        # LectureSequential: each run of lecture layers is one Function (the same numbers, faster)
        self.encoder = LectureSequential(nn.Flatten(), *enc)
        self.decoder = LectureSequential(*dec, nn.Unflatten(1, self.shape))
        self._finish()

    def layer_sizes(self) -> list[str]:
        return [str(s) for s in self.sizes + self.sizes[-2::-1]]


MODEL = MLPAutoencoder
