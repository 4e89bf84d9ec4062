"""``ae=sparse``: the sparsity penalty's keys (conf/ae/sparse.yaml also makes the code units logistic)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aelab.ae.config import AEConfig
from aelab.errors import ConfigError
from aelab.keys import key

PENALTIES = ("kl", "l1")


@dataclass
class SparseConfig(AEConfig):
    name: str = key("sparse", "a penalty that keeps most code units quiet", hparam="ae")
    penalty: str = key("kl", "kl: Σ_j KL(ρ ‖ ρ̂_j); l1: mean Σ_j |h_j|", choices=PENALTIES, hparam="ae_penalty")
    target: float = key(
        0.05, "kl: ρ, the mean activation each code unit is pulled to", above=0, below=1, hparam="ae_target"
    )
    weight: float = key(0.1, "the penalty's coefficient", low=0, hparam="ae_weight")

    @classmethod
    def describe(cls, config: dict[str, Any]) -> str:
        ae, code = config["ae"], config["model"].get("code_activation")
        penalty = f"KL to {ae.get('target')}" if ae.get("penalty") == "kl" else ae.get("penalty")
        return f"sparse ({penalty}, weight {ae.get('weight')}, {code} code)"

    def check_with(self, config: Any) -> None:
        if self.penalty == "kl" and config.model.code_activation != "sigmoid":
            raise ConfigError(
                f"ae.penalty=kl needs code units in (0, 1), but model.code_activation={config.model.code_activation}: "
                "use model.code_activation=sigmoid (ae=sparse sets it unless you override it), or ae.penalty=l1"
            )


CONFIG = SparseConfig
