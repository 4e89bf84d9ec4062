"""What every autoencoder shares: one typed output, encode/decode, named layers, a summary."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from aelab.keys import check_fields
from aelab.models.config import ModelConfig
from aelab.models.init import init_layer
from aelab.models.layers import WeightLayer

WEIGHT_LAYERS = WeightLayer.__args__  # the classes, for isinstance


@dataclass
class AEOutput:
    """logits: pre-sigmoid reconstruction (for a stable BCE); recon = σ(logits), images in [0, 1],
    shaped like the input; code: the bottleneck, (batch, code_dim) (a VAE's μ); loss_terms: terms
    the autoencoder kind adds to the reconstruction loss (``penalty``, ``kl``), each logged as
    ``loss/<name>``; mu, logvar: a VAE's posterior q(z|x) = N(μ, diag σ²)."""

    logits: Tensor
    recon: Tensor
    code: Tensor
    loss_terms: dict[str, Tensor] = field(default_factory=dict)
    mu: Tensor | None = None
    logvar: Tensor | None = None


class Autoencoder(nn.Module):
    """``encoder`` maps images to codes, ``decoder`` codes to logits; ``forward`` returns AEOutput.

    A family's model takes its config and the image shape (C, H, W) and fills ``self.encoder`` and
    ``self.decoder`` (``nn.Sequential``) with weight layers that each carry their activation as ``.act``.

    What the network is trained *as* — plain, denoising, sparse, contractive, variational — is its
    ``kind`` (:mod:`aelab.ae`, attached by :func:`aelab.models.build_model`): ``forward`` is the
    kind's. Without one it is the plain autoencoder. ``code_heads`` is 2 when the encoder's last
    layer gives (μ, log σ²) side by side (``ae=vae``); :meth:`encode` then returns μ.
    """

    family: ClassVar[str] = "autoencoder"
    encoder: nn.Sequential
    decoder: nn.Sequential
    kind: Any = None
    code_heads: int = 1

    def __init__(self, config: ModelConfig, shape: tuple[int, int, int]) -> None:
        """``config`` is checked (a ConfigError, which is a ValueError, naming the key) before any
        layer is built; ``shape``: the images' (channels, height, width)."""
        super().__init__()
        check_fields(config, "model.")
        config.check_rules()
        config.check_shape(shape)
        self.config, self.shape, self.n_inputs = config, shape, math.prod(shape)
        self.kind_modules = nn.ModuleDict()  # a kind's own networks (aelab.ae.base.Kind.prepare)
        self.activation, self.code_activation, self.impl = config.activation, config.code_activation, config.impl
        self.init_scheme, self.output_activation = config.init, config.output_activation

    def output(self, logits: Tensor) -> Tensor:
        """The reconstruction from the last layer's output: σ(logits), or the logits themselves."""
        return torch.sigmoid(logits) if self.output_activation == "sigmoid" else logits

    def _finish(self) -> None:
        for _, layer in self.layers():
            init_layer(layer, self.init_scheme)

    def network_parameters(self) -> list[nn.Parameter]:
        """The autoencoder's parameters: the encoder's and the decoder's, not a kind's own networks."""
        return [p for name, p in self.named_parameters() if not name.startswith("kind_modules.")]

    def encode(self, x: Tensor) -> Tensor:
        """The code of ``x`` (a VAE's μ)."""
        h = self.encoder(x)
        return h.chunk(2, dim=1)[0] if self.code_heads == 2 else h

    def encode_layers(self, x: Tensor) -> tuple[Tensor, list[tuple[WeightLayer, tuple[int, ...], Tensor]]]:
        """The encoder's output and, for each of its weight layers in the order they run (inside
        blocks too), (layer, shape of its own input, its output a): what a penalty on the layers'
        Jacobians needs (``ae=contractive``). Forward hooks see each layer's call, so a skip
        connection or any other wiring of the encoder is measured as it runs."""
        seen: list[tuple[WeightLayer, tuple[int, ...], Tensor]] = []

        def keep(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
            seen.append((module, tuple(inputs[0].shape), output))  # type: ignore[arg-type]

        handles = [m.register_forward_hook(keep) for m in self.encoder.modules() if isinstance(m, WEIGHT_LAYERS)]
        try:
            h = self.encoder(x)
        finally:
            for handle in handles:
                handle.remove()
        return h, seen

    def decode_logits(self, code: Tensor) -> Tensor:
        return self.decoder(code)

    def decode(self, code: Tensor) -> Tensor:
        """Images (in [0, 1] with the σ output) from codes."""
        return self.output(self.decode_logits(code))

    def forward(self, x: Tensor) -> AEOutput:
        return self.kind.forward(self, x) if self.kind is not None else self.reconstruct(x)

    def reconstruct(self, x: Tensor) -> AEOutput:
        """The plain autoencoder's pass: code = encode(x), logits = decode_logits(code)."""
        code = self.encode(x)
        return self.from_code(code)

    def from_code(self, code: Tensor, **extra: Any) -> AEOutput:
        logits = self.decode_logits(code)
        # The output nonlinearity sits outside the last layer so a BCE loss can take logits;
        # its derivative σ(1 − σ) is the lecture's φ' for the output layer.
        return AEOutput(logits=logits, recon=self.output(logits), code=code, **extra)

    def layers(self) -> list[tuple[str, WeightLayer]]:
        """Every weight layer, first to last — the encoder's, then the decoder's, each in the order
        its modules are registered (a family registers them in the order its forward runs them,
        inside blocks too) — named by its role (:func:`layer_names`): ``01_enc`` … ``50_code`` …
        ``98_dec``, ``99_out``, the same name for the same role at every depth. Init, the
        gradient-flow probes, the loggers and layer-wise pretraining all take the layers from here."""
        enc = [m for m in self.encoder.modules() if isinstance(m, WEIGHT_LAYERS)]
        dec = [m for m in self.decoder.modules() if isinstance(m, WEIGHT_LAYERS)]
        return list(zip(layer_names(len(enc), len(dec)), enc + dec))

    def layer_sizes(self) -> list[str]:
        raise NotImplementedError

    def summary(self) -> str:
        """One line: family, impl, activation, layer sizes, parameter count."""
        n_params = sum(p.numel() for p in self.network_parameters())
        kind = f" ae={self.kind.name}" if self.kind is not None and self.kind.name != "plain" else ""
        return (
            f"{self.family}{kind} impl={self.impl} activation={self.activation} "
            f"layers={'-'.join(self.layer_sizes())} params={n_params:,}"
        )


def layer_names(n_enc: int, n_dec: int) -> list[str]:
    """The names of an encoder's ``n_enc`` and a decoder's ``n_dec`` weight layers, first to last.

    A name says the layer's role, so one name means one role at every depth (a sweep's depth-2 and
    depth-8 runs share ``01_enc``, ``50_code``, ``98_dec``, ``99_out``, and TensorBoard puts them
    on one chart): the encoder's layers counted from the image (``01_enc``, ``02_enc``, …), its last
    layer the code (``50_code``), the decoder's layers counted back from the image, so layer k from
    the image is ``100 − k`` (``98_dec`` … ``99_out``, the output layer). A decoder layer and the
    encoder layer it mirrors sum to 100 (``02_enc`` ↔ ``98_dec``, ``01_enc`` ↔ ``99_out``), and the
    names sort in forward order, as TensorBoard and a file listing sort them. More than 49 layers
    on a side take three digits (``001_enc``, ``500_code``, ``999_out``)."""
    digits = 2
    while max(n_enc - 1, n_dec) >= 5 * 10 ** (digits - 1):
        digits += 1
    top, code = 10**digits, 5 * 10 ** (digits - 1)
    encoder = [f"{k:0{digits}d}_enc" for k in range(1, n_enc)] + ([f"{code}_code"] if n_enc else [])
    decoder = [f"{top - k}_{'out' if k == 1 else 'dec'}" for k in range(n_dec, 0, -1)]
    return encoder + decoder


__all__ = ["WEIGHT_LAYERS", "AEOutput", "Autoencoder", "layer_names"]
