#!/usr/bin/env python
"""Train one autoencoder (or a sweep with -m). Configuration: conf/ (see README).

    python scripts/train.py activation=relu depth=8
    python scripts/train.py -m activation=relu,sigmoid depth=2,8
"""

from __future__ import annotations

import math
import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from aelab.config import ConfigError, register_configs
from aelab.train import train

register_configs()


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> float:
    multirun = HydraConfig.get().mode == RunMode.MULTIRUN
    try:
        metrics = train(cfg)
    except ConfigError as err:
        if multirun:  # one bad job must not stop the sweep
            return math.inf
        print(f"Error: {err}", file=sys.stderr)
        sys.exit(2)
    if metrics["status"] != "completed":
        if multirun:
            return math.inf
        sys.exit(1 if metrics["status"] == "failed" else 130)
    return float(metrics["val"]["sq_err_per_image"])  # what Hydra sweepers minimise


if __name__ == "__main__":
    main()
