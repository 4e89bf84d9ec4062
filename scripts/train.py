#!/usr/bin/env python
"""Train one autoencoder (or a sweep with -m). Configuration: conf/ (see README).

    python scripts/train.py activation=relu depth=8
    python scripts/train.py -m activation=relu,sigmoid depth=2,8
    python scripts/train.py -m hydra/launcher=joblib experiment=sweep_activation_depth_quick
"""

from __future__ import annotations

import logging
import math
import os
import sys
import warnings

import hydra
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from aelab.config import ConfigError, register_configs
from aelab.train import train

register_configs()
# conf/hydra/launcher/{joblib,submitit_*}.yaml share their names with the plugins' schemas on
# purpose (they only change the defaults); Hydra validates them against those and says so.
warnings.filterwarnings("ignore", message=r"\s*'hydra/launcher/\w+' is validated against ConfigStore schema")
log = logging.getLogger("aelab.sweep")


def share_cpus_among_jobs() -> None:
    """Give each of a launcher's concurrent jobs its share of the cores (torch threads).

    joblib runs ``n_jobs`` jobs at once in one machine's processes: each gets
    ``max(1, cpu_count // n_jobs)`` threads. submitit jobs get ``cpus_per_task`` when it is set.
    """
    launcher = HydraConfig.get().launcher
    target = str(launcher.get("_target_", ""))
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if "joblib" in target:
        n_jobs = int(launcher.get("n_jobs") or -1)
        concurrent = n_jobs if n_jobs > 0 else max(1, cpus + 1 + n_jobs)  # joblib: -1 = all CPUs
        threads = max(1, cpus // concurrent)
    elif "submitit" in target and launcher.get("cpus_per_task"):
        threads = int(launcher.cpus_per_task)
    else:
        return
    torch.set_num_threads(threads)
    log.info("torch threads per job: %d (%s, %d CPUs)", threads, target.rsplit(".", 1)[-1], cpus)


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> float:
    multirun = HydraConfig.get().mode == RunMode.MULTIRUN
    if multirun:
        share_cpus_among_jobs()
    try:
        metrics = train(cfg)
    except ConfigError as err:
        if multirun:  # one bad job must not stop the sweep; the report reads this line
            log.error("config error: %s", err)
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
