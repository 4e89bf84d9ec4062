"""What the Slurm launcher adds to :mod:`aelab.launchers.submitit`.

* Resources that follow the run, for the keys left ``null``: ``gpus_per_node`` 1 for ``device=cuda``,
  none for ``device=cpu``, for ``auto`` 1 where the partition has GPUs (sinfo); ``cpus_per_task``
  ``trainer.threads`` or 2 (the job trains on that many threads); ``mem_gb`` sized for the largest
  job's training (:func:`aelab.config.training_bytes`) plus the process (torch, the data).
* Job states without accounting: submitit asks ``sacct``, which fails where the cluster keeps no
  accounting (and submitit then warns at every poll). :class:`SlurmWatcher` asks ``squeue`` from
  then on and says so once.
* ``skip_done=true`` after the submitting process died: jobs of the earlier submission that Slurm
  still has (their batch scripts are in this sweep's ``.submitit`` folder) are waited for, not
  submitted again, so no run trains twice.
* A stop cancels the queued jobs and sends SIGTERM to the running ones (``scancel``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Iterator
from typing import Any

from omegaconf import DictConfig
from submitit.core.utils import JobPaths
from submitit.slurm.slurm import SlurmJob

from aelab.config import Config, to_config, training_bytes
from aelab.launchers.records import task_values
from aelab.launchers.squeue import SlurmWatcher, earlier_jobs, run
from aelab.launchers.stop import SweepStop
from aelab.launchers.submitit import RESIGNAL_S, SubmititJobs

log = logging.getLogger("aelab.sweep")
POLL_S = 10.0  # how often squeue is asked about an earlier submission's jobs
PROCESS_GB = 2.0  # a job's process besides its training: Python, torch, the loaded data (1.2 GB measured)


def partition_has_gpus(partition: str | None) -> bool:
    done = run(["sinfo", "--noheader", "--format=%G", *([f"--partition={partition}"] if partition else [])])
    return done is not None and done.returncode == 0 and "gpu" in done.stdout


def fill_resources(params: dict[str, Any], tasks: list[Config]) -> dict[str, Any]:
    """``params`` with the resources left null set for the sweep's runs (see the module doc)."""
    params = dict(params)
    if all(params.get(k) is None for k in ("gpus_per_node", "gpus_per_task", "gres")):
        devices = {t.device for t in tasks}
        gpu = "cuda" in devices or ("auto" in devices and partition_has_gpus(params.get("partition")))
        params["gpus_per_node"] = 1 if gpu else None
    if params.get("cpus_per_task") is None:
        params["cpus_per_task"] = max((t.trainer.threads or 2) for t in tasks)
    if all(params.get(k) is None for k in ("mem_gb", "mem_per_cpu", "mem_per_gpu")):
        need = max(training_bytes(t) for t in tasks) / 2**30
        params["mem_gb"] = math.ceil(1.5 * need + PROCESS_GB + (2 if params.get("gpus_per_node") else 0))
    return params


def scancel(*args: str) -> None:
    run(["scancel", *args])


class SlurmJobs(SubmititJobs):
    """The Slurm launcher's part (see the module doc)."""

    def _prepare(self, configs: dict[int, DictConfig], stop: SweepStop) -> None:
        folder = JobPaths.get_first_id_independent_folder(str(self.params["submitit_folder"]))
        self._adopted: list[str] = []
        waiting = earlier_jobs(folder)
        if waiting:
            log.info("waiting for %d jobs of an earlier submission of this sweep: %s", len(waiting), " ".join(waiting))
            self._adopted = waiting
        signalled, asked = 0.0, time.monotonic()
        while waiting and not stop.again:
            if stop.requested and time.monotonic() - signalled > RESIGNAL_S:
                self._stop_jobs()
                signalled = time.monotonic()
            time.sleep(1.0)
            if stop.requested or time.monotonic() - asked > POLL_S:
                waiting, asked = earlier_jobs(folder), time.monotonic()
        if waiting:  # a second stop signal: cancel them and wait no more
            self._give_up()
        tasks = [to_config(values) for values in map(task_values, configs.values()) if values]
        if tasks:
            self.params = fill_resources(self.params, tasks)
        shown = {"partition": "(default)", "gpus_per_node": 0}
        keys = ("partition", "cpus_per_task", "mem_gb", "gpus_per_node", "timeout_min", "array_parallelism")
        values = " ".join(f"{k}={self.params.get(k) if self.params.get(k) is not None else shown.get(k)}" for k in keys)
        log.info("Slurm resources per job (hydra.launcher.*): %s", values)

    @contextlib.contextmanager
    def _polling(self) -> Iterator[None]:
        previous = SlurmJob.watcher
        SlurmJob.watcher = SlurmWatcher()
        try:
            yield
        finally:
            SlurmJob.watcher = previous

    def _job_ids(self) -> list[str]:
        return sorted({str(j.job_id).split("_")[0] for j in self._submitted} | set(getattr(self, "_adopted", [])))

    def _stop_jobs(self) -> None:
        ids = self._job_ids()
        if ids:
            scancel("--state=PENDING", *ids)  # never started: cancelled
            scancel("--signal=TERM", *ids)  # running: the job's process commits its step and ends

    def _give_up(self) -> None:
        ids = self._job_ids()
        if ids:
            scancel(*ids)


__all__ = ["SlurmJobs", "fill_resources", "partition_has_gpus"]
