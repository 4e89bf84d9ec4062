"""What a sweep records for a job: its config, its directory, and the status of a job that did not
end with a result of its own.

The rule every launcher applies when a job has ended (:func:`settle`):

* a job that returned its result keeps its run's own status (completed, failed, interrupted) — but
  a run ``interrupted`` by a signal the sweep did not send (``scancel``, a preemption, a ``kill``
  from outside) is recorded ``crashed``: the sweep did not stop it, and ``skip_done=true`` resumes it;
* a job that returned no result (its process was killed, or Slurm gave up on it) is ``crashed``,
  or ``interrupted`` when the sweep itself was stopping (Ctrl-C);
* a job stopped before its run began leaves nothing when the sweep was stopping (it counts as not
  started), and is ``crashed`` otherwise.

A recorded status goes to the job's metrics.json (written from the run's last commit, so the
history stays), unless a live process still holds the job's directory.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.types import HydraContext
from omegaconf import DictConfig, OmegaConf, open_dict

from aelab.config import to_config, to_dict
from aelab.files import read_json, write_json
from aelab.training.rundir import RunDir

log = logging.getLogger("aelab.sweep")
FINAL = ("completed", "failed", "interrupted", "crashed")


def job_config(context: HydraContext, config: DictConfig, overrides: Sequence[str], num: int) -> DictConfig:
    """Job ``num``'s full config (task and hydra), as its own process composes it."""
    sweep_config = context.config_loader.load_sweep_config(config, list(overrides))
    with open_dict(sweep_config):
        sweep_config.hydra.job.id = f"{sweep_config.hydra.job.name}_{num}"
        sweep_config.hydra.job.num = num
    return sweep_config


def job_dir(sweep_config: DictConfig) -> Path:
    return Path(str(sweep_config.hydra.sweep.dir)) / str(sweep_config.hydra.sweep.subdir)


def task_values(sweep_config: DictConfig) -> Any:
    """The job's run config as plain values (None if it does not make a valid config)."""
    try:
        task = OmegaConf.masked_copy(sweep_config, [str(k) for k in sweep_config if k != "hydra"])
        return to_dict(to_config(task))
    except Exception:
        return None


def run_status(folder: Path) -> tuple[str | None, str | None]:
    """(status, error) from a job dir's metrics.json; (None, None) where no run has begun."""
    try:
        metrics = read_json(folder / "metrics.json") if (folder / "metrics.json").exists() else None
    except Exception:  # damaged: the report says so; here it is a run whose status is unknown
        return "unknown", None
    if not isinstance(metrics, dict):
        return None, None
    return str(metrics.get("status") or "running"), metrics.get("error")


def record_unfinished(sweep_config: DictConfig, status: str, reason: str) -> JobReturn:
    """Mark a job that ended without completing as ``status`` (crashed or interrupted) in its
    metrics.json, and give the sweeper an infinite objective so the sweep goes on."""
    folder = job_dir(sweep_config)
    run = RunDir(folder)
    try:
        if run.holder() is None and (status == "crashed" or run.holds_run()):
            metrics = read_json(run.metrics) if run.metrics.exists() else None
            if not isinstance(metrics, dict):
                metrics = {"history": [], "epochs_completed": 0, "test": None, "val": None}
                metrics["hparams"] = task_values(sweep_config)
            keep = ("completed",) if status == "crashed" else FINAL  # an interrupted run keeps its own words
            if metrics.get("status") not in keep:
                metrics.update(status=status, error=reason)
                write_json(run.metrics, metrics)
    except Exception as err:  # recording is best effort: the sweep must go on
        log.error("could not record job %s as %s: %s", sweep_config.hydra.job.num, status, err)
    if status == "crashed":
        log.error("job %s crashed: %s (%s)", sweep_config.hydra.job.num, reason, folder)
    ret = JobReturn(
        overrides=[str(o) for o in sweep_config.hydra.overrides.task],
        working_dir=str(folder),
        task_name=str(sweep_config.hydra.job.name),
    )
    ret.status, ret.return_value = JobStatus.COMPLETED, math.inf
    return ret


def record_crash(sweep_config: DictConfig, reason: str) -> JobReturn:
    return record_unfinished(sweep_config, "crashed", reason)


def settle(sweep_config: DictConfig, ret: JobReturn | None, reason: str, stopping: str | None) -> JobReturn:
    """The sweep's record of a job that has ended (the rule in the module doc). ``ret``: the job's own
    result, or None with ``reason`` saying why there is none; ``stopping``: the signal that is
    stopping the sweep, if one is."""
    status, error = run_status(job_dir(sweep_config))
    if ret is not None:
        if status == "interrupted" and not stopping:
            return record_unfinished(sweep_config, "crashed", f"stopped from outside the sweep: {error}")
        return ret
    if stopping:
        return record_unfinished(sweep_config, "interrupted", f"{reason}; the sweep was stopped by {stopping}")
    return record_unfinished(sweep_config, "crashed", reason)


def first_line(err: BaseException, limit: int = 160) -> str:
    """``Type: first line of the message``, for a one-line reason."""
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0][:limit]}" if text else type(err).__name__


__all__ = [
    "first_line",
    "job_config",
    "job_dir",
    "record_crash",
    "record_unfinished",
    "run_status",
    "settle",
    "task_values",
]
