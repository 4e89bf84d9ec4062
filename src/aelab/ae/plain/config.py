"""``ae=plain``: the lecture's autoencoder has no keys of its own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from aelab.ae.config import AEConfig


@dataclass
class PlainConfig(AEConfig):
    stacks: ClassVar[bool] = True  # pretrain=layerwise: stacked autoencoders


CONFIG = PlainConfig
