"""``model.*``: the keys every model family shares; each family's ``config.py`` adds its own.

``activation`` and ``depth`` follow the top-level keys of the same name (``activation=relu
depth=8``); typing a different ``model.activation`` or ``model.depth`` beside them is refused, so
the record never says one thing while the model is another. Nothing here imports torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

from aelab.backprop.activations import ACTIVATIONS
from aelab.errors import ConfigError
from aelab.keys import key
from aelab.registry import Names

MAX_DEPTH = 1000  # layers per side; far beyond what trains, and each layer costs Python time per step
IMPLS = ("lecture", "torch")
INITS = ("auto", "xavier", "kaiming", "torch_default")
OUTPUT_ACTIVATIONS = ("sigmoid", "identity")
FAMILY_NAMES = Names("aelab.models", module="config", order=("mlp", "conv"))


@dataclass
class Size:
    """What a model costs before it is built: parameters, and floats per example that the forward
    pass keeps for backward (layer outputs) — the basis of the pre-flight memory check."""

    params: int
    floats_per_example: int
    # the config keys that set the size, for naming the culprit: key -> value
    keys: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelConfig:
    # The decoder mirrors a chain of dense encoder layers layer for layer, so decoder layer l can
    # start as the transposed encoder layer W^(l)ᵀ: what pretrain=layerwise needs (a family says so).
    tied: ClassVar[bool] = False

    family: str = key("mlp", "the model family: a folder of aelab/models", choices=FAMILY_NAMES, hparam="family")
    impl: str = key(
        "lecture", "lecture: the hand-written backprop; torch: its native-autograd twin", choices=IMPLS, hparam="impl"
    )
    activation: str = key("${activation}", "follows the top-level activation", choices=ACTIVATIONS, hparam="activation")
    depth: int = key("${depth}", "follows the top-level depth", low=1, high=MAX_DEPTH, hparam="depth")
    code_dim: int = key(30, "units of the code (the bottleneck)", low=1, hparam="code_dim")
    code_activation: str = key(
        "identity",
        "the code layer's activation (linear codes by default)",
        choices=ACTIVATIONS,
        hparam="code_activation",
    )
    init: str = key(
        "auto", "weight init; auto: each layer's activation picks xavier or kaiming", choices=INITS, hparam="init"
    )
    output_activation: str = key(
        "sigmoid",
        "sigmoid: images in [0, 1], BCE on the logits; identity: a linear output (x̂ = logits)",
        choices=OUTPUT_ACTIVATIONS,
    )

    def check_rules(self) -> None:
        """Rules that tie the family's own keys together (each key alone is checked by its declaration)."""

    def check_with(self, config: Any) -> None:
        """Rules that tie the family's keys to the rest of the config: the dataset's image shape."""
        from aelab.data import image_format

        self.check_shape(image_format(config.data).shape)

    def check_shape(self, shape: tuple[int, int, int]) -> None:
        """A code no wider than an image of ``shape``: an autoencoder compresses."""
        n_values = math.prod(shape)
        if self.code_dim > n_values:
            raise ConfigError(
                f"model.code_dim={self.code_dim} is out of range: model.code_dim must be <= {n_values} "
                f"(the values of one {'×'.join(map(str, shape))} image)"
            )

    def size(self, shape: tuple[int, int, int]) -> Size:
        """Parameters and per-example floats of the model on images of ``shape``, without building it."""
        raise NotImplementedError


__all__ = ["FAMILY_NAMES", "IMPLS", "INITS", "MAX_DEPTH", "OUTPUT_ACTIVATIONS", "ModelConfig", "Size"]
