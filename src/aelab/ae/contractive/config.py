"""``ae=contractive``: the contraction penalty's key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aelab.ae.config import AEConfig
from aelab.keys import key


@dataclass
class ContractiveConfig(AEConfig):
    name: str = key("contractive", "penalise ‖∂code/∂x‖²_F layer by layer", hparam="ae")
    weight: float = key(0.01, "the penalty's coefficient", low=0, hparam="ae_weight")

    @classmethod
    def describe(cls, config: dict[str, Any]) -> str:
        return f"contractive (weight {config['ae'].get('weight')})"


CONFIG = ContractiveConfig
