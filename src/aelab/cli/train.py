"""``aelab-train`` (``python scripts/train.py``): one autoencoder, or a sweep with ``-m``.

    aelab-train activation=relu depth=8
    aelab-train -m activation=relu,sigmoid depth=2,8
    aelab-train -m hydra/launcher=joblib experiment=sweep_activation_depth_quick

A thin Hydra app over :func:`aelab.train`. A refusal (bad value, occupied or locked directory,
damaged file, missing data) is one ``Error:`` line on stderr and exit 2, with nothing created; in a
sweep it is that job's failure and the sweep goes on.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from aelab.cli.startup import STARTUP, StartupStderr, fail, help_text, one_line
from aelab.config.compose import register_configs
from aelab.errors import AelabError
from aelab.files import write_json, write_text
from aelab.hardware import import_torch, n_cpus

register_configs()
# conf/hydra/launcher/submitit_*.yaml share their names with the plugin's schemas on purpose (they
# change the target and defaults); Hydra validates them against those and says so.
warnings.filterwarnings("ignore", message=r"\s*'hydra/launcher/\w+' is validated against ConfigStore schema")
log = logging.getLogger("aelab.sweep")


def share_cpus_among_jobs() -> None:
    """Give each of a launcher's concurrent jobs its share of the cores (torch threads): ``n_jobs``
    jobs at once get ``max(1, cpus // n_jobs)`` threads each; submitit jobs get ``cpus_per_task``
    (on Slurm, the CPUs the job was given). ``trainer.threads`` set on the command line wins
    (train() applies it)."""
    launcher = HydraConfig.get().launcher
    target = str(launcher.get("_target_", ""))
    if "ProcessLauncher" in target:
        n_jobs = int(launcher.get("n_jobs") or -1)
        concurrent = n_jobs if n_jobs > 0 else max(1, n_cpus() + 1 + n_jobs)
        threads = max(1, n_cpus() // concurrent)
    elif "Submitit" in target and (os.environ.get("SLURM_CPUS_PER_TASK") or launcher.get("cpus_per_task")):
        threads = int(os.environ.get("SLURM_CPUS_PER_TASK") or launcher.cpus_per_task)
    else:
        return
    import_torch().set_num_threads(threads)


def _record_refused_job(err: AelabError) -> None:
    """A sweep job refused before it started: say so in its (empty) job dir, or, when the dir holds
    another run that must not be touched, in ``<sweep dir>/.refused/<job>.json``."""
    from omegaconf import OmegaConf

    hydra_cfg = HydraConfig.get()
    job_dir = Path(hydra_cfg.runtime.output_dir)
    record = {
        "status": "failed",
        "error": f"refused: {err}",
        "history": [],
        "epochs_completed": 0,
        "val": None,
        "test": None,
        "hparams": None,
        "overrides": list(hydra_cfg.overrides.task),
    }
    try:
        if not any(job_dir.iterdir()):
            write_text(job_dir / ".hydra" / "overrides.yaml", OmegaConf.to_yaml(hydra_cfg.overrides.task))
            write_json(job_dir / "metrics.json", record)
        else:
            write_json(Path(hydra_cfg.sweep.dir) / ".refused" / f"{hydra_cfg.job.num}.json", record)
    except (OSError, AelabError) as write_err:
        log.error("could not record the refusal: %s", write_err)


@hydra.main(version_base="1.3", config_path="pkg://aelab.conf", config_name="config")
def app(cfg: DictConfig) -> float:
    from aelab.training.loop import train  # torch: only once the run is going to start

    multirun = HydraConfig.get().mode == RunMode.MULTIRUN
    if multirun:
        share_cpus_among_jobs()
    try:
        metrics = train(cfg)
    except AelabError as err:
        if multirun:  # one bad job must not stop the sweep; the report shows it
            log.error("job refused: %s", err)
            _record_refused_job(err)
            return math.inf
        fail(err)
    status = metrics["status"]
    if status != "completed":
        if multirun:  # the sweep goes on; its report lists the job
            log.error("job %s: %s", status, metrics["error"])
            return math.inf
        print(f"Error: run {status}: {metrics['error']}", file=sys.stderr)
        sys.exit(1 if status == "failed" else 130)
    return float(metrics["val"]["sq_err_per_image"])  # what Hydra sweepers minimise


def main() -> Any:
    if sys.argv[1:2] in (["--help"], ["-h"]) and len(sys.argv) == 2:
        print(help_text())
        return 0
    from aelab.launchers import SweepStopped

    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        return app()
    held = StartupStderr(sys.stderr)
    STARTUP.append(held)
    sys.stderr = held
    try:
        return app()
    except SweepStopped as stopped:  # Ctrl-C in a sweep: one last line, exit 130
        held.release()
        print(f"Error: {stopped}", file=sys.stderr)
        raise SystemExit(130) from None
    except SystemExit as exit_:
        if not held.passing and exit_.code not in (0, None):
            text = "".join(held.held)
            held.held.clear()
            held.passing = True
            sys.stderr = held.real
            print(f"Error: {one_line(text)}", file=sys.stderr)
            raise SystemExit(2) from None
        raise
    finally:
        held.release()
        sys.stderr = held.real
