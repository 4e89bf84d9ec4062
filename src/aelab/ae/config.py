"""``ae.*``: the key every autoencoder kind shares; each kind's ``config.py`` adds its own.
Nothing here imports torch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from aelab.keys import key
from aelab.registry import Names

KIND_NAMES = Names("aelab.ae", module="config", order=("plain", "denoising", "sparse", "contractive", "vae"))


@dataclass
class AEConfig:
    # pretrain=layerwise can train shallow autoencoders of this kind one layer at a time (a kind says so)
    stacks: ClassVar[bool] = False

    name: str = key("plain", "what the network is trained as: a folder of aelab/ae", choices=KIND_NAMES, hparam="ae")

    @classmethod
    def describe(cls, config: dict[str, Any]) -> str:
        """The kind and its settings in a results table's words (``denoising (masking, 0.3)``), from
        a run's plain config."""
        return str((config.get("ae") or {}).get("name", "plain"))

    def check_rules(self) -> None:
        """Rules that tie the kind's own keys together (each key alone is checked by its declaration)."""

    def check_with(self, config: Any) -> None:
        """Rules that tie the kind to the rest of the config (e.g. ``ae=vae`` needs ``loss=bce``)."""


__all__ = ["KIND_NAMES", "AEConfig"]
