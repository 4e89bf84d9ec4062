"""``aelab-train`` (``python scripts/train.py``): one autoencoder, or a sweep with ``-m``.

    aelab-train activation=relu depth=8
    aelab-train -m activation=relu,sigmoid depth=2,8
    aelab-train -m hydra/launcher=joblib experiment=sweep_activation_depth_quick

A thin Hydra app over :func:`aelab.train`. A refusal (bad value, occupied or locked directory,
damaged file, missing data) is one ``Error:`` line on stderr and exit 2, with nothing created; in a
sweep it is that job's failure and the sweep goes on.
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import sys
import warnings
from pathlib import Path
from typing import Any

import hydra
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from aelab.config import register_configs
from aelab.errors import AelabError
from aelab.files import write_json, write_text
from aelab.hardware import n_cpus
from aelab.training import train

register_configs()
# conf/hydra/launcher/submitit_*.yaml share their names with the plugin's schemas on purpose (they
# change the target and defaults); Hydra validates them against those and says so.
warnings.filterwarnings("ignore", message=r"\s*'hydra/launcher/\w+' is validated against ConfigStore schema")
log = logging.getLogger("aelab.sweep")


def fail(err: AelabError) -> None:
    """The CLI's answer to a refusal: one line on stderr, the error's exit status."""
    print(f"Error: {err}", file=sys.stderr)
    sys.exit(err.exit_code)


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
    torch.set_num_threads(threads)


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
        if multirun:
            return math.inf
        print(f"Error: run {status}: {metrics['error']}", file=sys.stderr)
        sys.exit(1 if status == "failed" else 130)
    return float(metrics["val"]["sq_err_per_image"])  # what Hydra sweepers minimise


class StartupStderr(io.TextIOBase):
    """stderr while Hydra composes the config: held back, so that a composition error (several
    lines, and advice about HYDRA_FULL_ERROR) can become one ``Error:`` line. The pre-flight
    callback releases it the moment aelab's own code runs; from then on it writes straight through."""

    def __init__(self, real: Any) -> None:
        self.real, self.passing = real, False
        self.held: list[str] = []

    def write(self, text: str) -> int:
        if self.passing:
            return self.real.write(text)
        self.held.append(text)
        return len(text)

    def flush(self) -> None:
        if self.passing:
            self.real.flush()

    def isatty(self) -> bool:
        return self.real.isatty()

    def fileno(self) -> int:
        return self.real.fileno()

    def release(self) -> None:
        if not self.passing:
            self.passing = True
            self.real.write("".join(self.held))
            self.held.clear()


def one_line(text: str) -> str:
    """Hydra's multi-line composition error as one line, without its debugging advice."""
    skip = (
        "Set the environment variable HYDRA_FULL_ERROR",
        "To append to your config use",
        "object_type=",
        "Config search path:",
        "provider=",
    )
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith(skip)]
    full_key = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("full_key:")), None)
    lines = [line for line in lines if not line.startswith("full_key:")]
    unknown = next(
        (
            re.search(r"Key '([^']+)' not in '([^']+)'", line)
            for line in lines
            if re.search(r"Key '([^']+)' not in '([^']+)'", line)
        ),
        None,
    )
    if unknown:
        return f"unknown key {full_key or unknown.group(1)} ({unknown.group(2)} has no key {unknown.group(1)!r})"
    parts: list[str] = []
    for line in lines:  # "Available options in 'model':" then one option per line
        if parts and parts[-1].startswith("Available options") and " " not in line:
            parts[-1] += (" " if parts[-1].endswith(":") else ", ") + line
        else:
            parts.append(line)
    return "; ".join(parts)


STARTUP: list[StartupStderr] = []


def release_stderr() -> None:
    for held in STARTUP:
        held.release()


def main() -> Any:
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
