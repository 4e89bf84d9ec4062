"""``ae=denoising``: the corruption's keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from aelab.ae.config import AEConfig
from aelab.errors import ConfigError
from aelab.keys import key

NOISES = ("masking", "gaussian")


@dataclass
class DenoisingConfig(AEConfig):
    stacks: ClassVar[bool] = True  # pretrain=layerwise: stacked denoising autoencoders (Vincent et al. 2010)

    name: str = key("denoising", "corrupt the input, reconstruct the clean image", hparam="ae")
    noise: str = key(
        "masking",
        "masking: zero each pixel with probability noise_level; gaussian: add N(0, noise_level²)",
        choices=NOISES,
        hparam="ae_noise",
    )
    noise_level: float = key(
        0.3, "masking: the fraction of pixels zeroed; gaussian: the noise's σ", low=0, hparam="ae_noise_level"
    )

    @classmethod
    def describe(cls, config: dict[str, Any]) -> str:
        ae = config["ae"]
        return f"denoising ({ae.get('noise')}, {ae.get('noise_level')})"

    def check_rules(self) -> None:
        if self.noise == "masking" and self.noise_level >= 1:  # 1 would leave nothing to see
            raise ConfigError(
                f"ae.noise_level={self.noise_level} is out of range: masking needs ae.noise_level >= 0 and < 1"
            )


CONFIG = DenoisingConfig
