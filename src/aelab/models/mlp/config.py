"""``model=mlp``: the fully connected autoencoder's config (conf/model/mlp.yaml fills it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from aelab.errors import ConfigError
from aelab.models.base import MAX_DEPTH, ModelConfig, check_at_least


@dataclass
class MLPConfig(ModelConfig):
    family: str = "mlp"
    width: int = 256  # hidden units per layer (depth − 1 hidden layers per side)
    hidden: Optional[list[int]] = None  # explicit hidden sizes, e.g. [1000, 500, 250]; replaces depth/width

    def check(self) -> None:
        super().check()
        check_at_least("model.width", self.width, 1)
        if self.hidden is not None:
            if len(self.hidden) == 0:
                raise ConfigError(
                    "model.hidden=[] is not valid: give at least one size, or model.hidden=null to use depth and width"
                )
            if len(self.hidden) >= MAX_DEPTH:
                raise ConfigError(f"model.hidden has {len(self.hidden)} sizes: at most {MAX_DEPTH - 1} hidden layers")
            if any(not isinstance(h, int) or h < 1 for h in self.hidden):
                raise ConfigError(
                    f"model.hidden={list(self.hidden)} is out of range: every size must be an integer >= 1"
                )

    def sizes(self, input_dim: int) -> list[int]:
        """Layer widths of the encoder, input to code."""
        hidden = list(self.hidden) if self.hidden is not None else [self.width] * (self.depth - 1)
        return [input_dim, *hidden, self.code_dim]
