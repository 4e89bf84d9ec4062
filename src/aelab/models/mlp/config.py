"""``model=mlp``: the fully connected autoencoder's keys (conf/model/mlp.yaml chooses it)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Optional

from aelab.errors import ConfigError
from aelab.keys import key
from aelab.models.config import MAX_DEPTH, ModelConfig, Size


@dataclass
class MLPConfig(ModelConfig):
    tied: ClassVar[bool] = True  # dense layers, mirrored: pretrain=layerwise can unroll them
    family: str = key("mlp", "fully connected: image → hidden layers → code, mirrored", hparam="family")
    width: int = key(256, "hidden units per layer (depth − 1 hidden layers per side)", low=1, hparam="width")
    hidden: Optional[list[int]] = key(
        None, "explicit hidden sizes, e.g. [1000,500,250] (then depth = len + 1)", low=1, hparam="hidden"
    )

    def check_rules(self) -> None:
        if self.hidden is None:
            return
        if not self.hidden:
            raise ConfigError("model.hidden=[] is not valid: give at least one size, or model.hidden=null")
        if len(self.hidden) >= MAX_DEPTH:
            raise ConfigError(f"model.hidden has {len(self.hidden)} sizes: at most {MAX_DEPTH - 1} hidden layers")
        layers = len(self.hidden) + 1
        if self.depth != layers:
            raise ConfigError(
                f"model.hidden={list(self.hidden)} gives {layers} layers per side "
                f"but depth={self.depth}: set depth={layers}"
            )

    def sizes(self, input_dim: int) -> list[int]:
        """Layer widths of the encoder, input to code."""
        hidden = list(self.hidden) if self.hidden is not None else [self.width] * (self.depth - 1)
        return [input_dim, *hidden, self.code_dim]

    def size(self, shape: tuple[int, int, int]) -> Size:
        sizes = self.sizes(math.prod(shape))
        # weights both ways, biases of the encoder (sizes[1:]) and of the decoder (sizes[:-1])
        params = 2 * sum(a * b for a, b in zip(sizes[:-1], sizes[1:])) + sum(sizes[1:]) + sum(sizes[:-1])
        keys = (
            {"model.hidden": self.hidden}
            if self.hidden is not None
            else {"depth": self.depth, "model.width": self.width}
        )
        return Size(params=params, floats_per_example=2 * sum(sizes), keys={**keys, "model.code_dim": self.code_dim})


CONFIG = MLPConfig
