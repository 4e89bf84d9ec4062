"""What every autoencoder shares: encode/decode, one typed output, named layers, a summary."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from aelab.backprop import ACTIVATIONS
from aelab.models.init import init_layer
from aelab.models.output import AEOutput

IMAGE_SHAPE = (1, 28, 28)
OUTPUT_ACTIVATIONS = ("sigmoid", "identity")
INPUT_DIM = 28 * 28


def check_choice(arg: str, value: object, allowed: tuple[str, ...] | list[str]) -> None:
    if value not in allowed:
        raise ValueError(f"{arg}={value!r} is not valid; {arg} must be one of: {', '.join(allowed)}")


def check_positive(arg: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{arg} must be an integer >= 1, got {value!r}")


def check_code_dim(code_dim: object) -> None:
    check_positive("code_dim", code_dim)
    if code_dim > INPUT_DIM:  # type: ignore[operator]
        raise ValueError(f"code_dim must be between 1 and the input size {INPUT_DIM}, got {code_dim}")


class Autoencoder(nn.Module):
    """``encoder`` maps images to codes, ``decoder`` codes to logits; ``forward`` returns AEOutput.

    Subclasses fill ``self.encoder`` and ``self.decoder`` (``nn.Sequential``) with weight layers
    that each carry their activation as ``.act``.
    """

    family = "autoencoder"
    encoder: nn.Sequential
    decoder: nn.Sequential

    def __init__(self, activation: str, code_activation: str, impl: str, init: str,
                 output_activation: str = "sigmoid") -> None:
        super().__init__()
        check_choice("activation", activation, list(ACTIVATIONS))
        check_choice("code_activation", code_activation, list(ACTIVATIONS))
        check_choice("output_activation", output_activation, OUTPUT_ACTIVATIONS)
        self.activation, self.code_activation, self.impl, self.init_scheme = activation, code_activation, impl, init
        self.output_activation = output_activation

    def output(self, logits: Tensor) -> Tensor:
        """The reconstruction from the last layer's output: σ(logits), or the logits themselves."""
        return torch.sigmoid(logits) if self.output_activation == "sigmoid" else logits

    def _finish(self) -> None:
        for _, layer in self.layers():
            init_layer(layer, self.init_scheme)

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x)

    def decode_logits(self, code: Tensor) -> Tensor:
        return self.decoder(code)

    def decode(self, code: Tensor) -> Tensor:
        """Images (in [0, 1] with the σ output) from codes."""
        return self.output(self.decode_logits(code))

    def forward(self, x: Tensor) -> AEOutput:
        code = self.encode(x)
        logits = self.decode_logits(code)
        # The output nonlinearity sits outside the last layer so a BCE loss can take logits;
        # its derivative σ(1 − σ) is the lecture's φ' for the output layer.
        return AEOutput(logits=logits, recon=self.output(logits), code=code)

    def layers(self) -> list[tuple[str, nn.Module]]:
        """Weight layers first to last, named ``01_enc``, …, ``NN_code``, …, ``LL_out``: the
        lecture's l = 1…L, zero-padded so TensorBoard sorts them in order."""
        found = [m for m in (*self.encoder, *self.decoder) if hasattr(m, "weight")]
        n_enc = sum(1 for m in self.encoder if hasattr(m, "weight"))
        names = []
        for i, _ in enumerate(found, start=1):
            role = "code" if i == n_enc else "out" if i == len(found) else "enc" if i < n_enc else "dec"
            names.append(f"{i:02d}_{role}")
        return list(zip(names, found))

    def layer_sizes(self) -> list[str]:
        raise NotImplementedError

    def summary(self) -> str:
        """One line: family, impl, activation, layer sizes, parameter count."""
        n_params = sum(p.numel() for p in self.parameters())
        return (
            f"{self.family} impl={self.impl} activation={self.activation} "
            f"layers={'-'.join(self.layer_sizes())} params={n_params:,}"
        )
