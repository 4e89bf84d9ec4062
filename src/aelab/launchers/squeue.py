"""Slurm's view of a sweep's jobs, through ``squeue`` where ``sacct`` has nothing (no accounting)."""

from __future__ import annotations

import logging
import subprocess
import time
from pathlib import Path

from submitit.slurm.slurm import SlurmInfoWatcher

log = logging.getLogger("aelab.sweep")
# states of a job that may still run; submitit's list plus the transient ones squeue shows
LIVE = {
    "READY", "PENDING", "RUNNING", "UNKNOWN", "REQUEUED", "COMPLETING", "PREEMPTED", "CONFIGURING",
    "SUSPENDED", "STOPPED", "REQUEUE_FED", "REQUEUE_HOLD", "RESIZING", "SIGNALING", "STAGE_OUT",
}  # fmt: skip


def run(command: list[str]) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None


def squeue(ids: list[str], fields: str) -> list[list[str]] | None:
    """squeue's lines for jobs ``ids`` (array tasks one a line; finished jobs while Slurm keeps them),
    split at ``|``; [] when Slurm knows none of them; None when squeue does not answer."""
    done = run(["squeue", "--noheader", "--array", "--states=all", f"--format={fields}", f"--jobs={','.join(ids)}"])
    if done is None or (done.returncode != 0 and "Invalid job id" not in done.stderr):
        return None
    return [line.split("|") for line in done.stdout.splitlines() if line.strip()] if done.returncode == 0 else []


class SlurmWatcher(SlurmInfoWatcher):
    """submitit's job-state poller: ``sacct`` while it works, else ``squeue`` (said once); a job that
    has left squeue has ended (its result file says how)."""

    def __init__(self, delay_s: int = 60) -> None:
        super().__init__(delay_s=delay_s)
        self.accounting = True

    def is_done(self, job_id: str, mode: str = "standard") -> bool:
        return self.get_state(job_id, mode=mode).upper() not in LIVE

    def update(self) -> None:
        watched = self._registered - self._finished
        ids = sorted({x.split("_")[0] for x in watched})
        if not ids:
            return
        self._num_calls += 1
        info = self._sacct(ids) if self.accounting else None
        if info is None:
            lines = squeue(ids, "%i|%T")
            if lines is not None:
                info = self.read_info("\n".join(["JobID|State", *("|".join(line) for line in lines)]))
                info.update({j: {"State": "GONE"} for j in watched if j not in info})
        if info is not None:
            self._info_dict.update(info)
        self._last_status_check = time.time()
        for job_id in watched:
            if self.is_done(job_id, mode="cache"):
                self._finished.add(job_id)

    def _sacct(self, ids: list[str]) -> dict[str, dict[str, str]] | None:
        done = run(["sacct", "-o", "JobID,State,NodeList", "--parsable2", *[a for i in ids for a in ("-j", i)]])
        if done is not None and done.returncode == 0:
            return self.read_info(done.stdout)
        self.accounting = False
        why = (done.stderr.strip().splitlines() or ["no answer"])[0] if done is not None else "sacct not found"
        log.info("Slurm keeps no job accounting here (sacct: %s): following the jobs with squeue", why)
        return None


def earlier_jobs(folder: Path) -> list[str]:
    """Jobs of an earlier submission of this sweep that Slurm still has queued or running: those whose
    batch script is in the sweep's submitit ``folder``."""
    try:
        ids = sorted({p.name.split("_")[0] for p in folder.iterdir() if p.name.split("_")[0].isdigit()})
    except OSError:
        return []
    lines = squeue(ids, "%i|%T|%o") if ids else []
    root = str(folder.resolve())
    return [line[0] for line in lines or [] if len(line) == 3 and line[1] in LIVE and line[2].startswith(root)]


__all__ = ["LIVE", "SlurmWatcher", "earlier_jobs", "run", "squeue"]
