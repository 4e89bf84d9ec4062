"""A run directory belongs to one run.

:func:`plan` decides, without writing anything, what a ``train()`` call may do in a directory:

* ``fresh``: the directory is new or empty;
* ``resume``: ``resume=<dir>`` on an unfinished run (or ``skip_done=true`` on an unfinished run of
  the same config): continue from ``checkpoints/last.pt``;
* ``skip``: ``skip_done=true`` and the directory holds the same run, completed;
* ``complete``: ``resume=<dir>`` on a completed run: nothing to do;

and refuses everything else with one :class:`RunDirError` that says what is there and what to do.
:class:`RunDir` then holds an exclusive ``flock`` on ``<dir>/.lock`` for the run's whole life: a
second writer is refused at once, and the kernel releases the lock when the process dies, so a
killed run never blocks its own resume.
"""

from __future__ import annotations

import errno
import fcntl
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aelab.config import differences
from aelab.errors import AelabError, CorruptFileError, RunDirError
from aelab.files import FILE_MODE, read_json
from aelab.training.checkpoint import load_checkpoint

LOCK = ".lock"


@dataclass
class Plan:
    kind: str  # fresh | resume | skip | complete
    run_dir: Path
    checkpoint: dict[str, Any] | None = None  # last.pt, verified (resume, skip, complete)
    metrics: dict[str, Any] | None = None  # what the run reports (skip, complete)
    notes: list[str] = field(default_factory=list)


class RunDir:
    """Paths of a run directory, and its lock."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.checkpoints = self.path / "checkpoints"
        self.last = self.checkpoints / "last.pt"
        self.best = self.checkpoints / "best.pt"
        self.metrics = self.path / "metrics.json"
        self.log = self.path / "train.log"
        self.hydra = self.path / ".hydra"
        self.tb = self.path / "tb"
        self._lock_fd: int | None = None

    def entries(self) -> list[str]:
        try:
            return sorted(p.name for p in self.path.iterdir())
        except FileNotFoundError:
            return []
        except NotADirectoryError:
            raise RunDirError(f"{self.path} is a file, not a directory") from None

    def holder(self) -> int | None:
        """The pid of another live process that holds this directory's lock (0 if unknown); None
        if nobody does."""
        try:
            fd = os.open(self.path / LOCK, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                try:
                    return int(os.pread(fd, 32, 0).decode().strip() or 0)
                except (OSError, ValueError):
                    return 0
            return None
        finally:
            os.close(fd)  # also drops the shared lock taken to probe
        return None

    def lock(self) -> None:
        """Take the exclusive lock (creating the directory); RunDirError if another process has it."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
        except OSError as err:
            if err.errno == errno.ELOOP:
                raise RunDirError(f"{self.path / LOCK} is a symbolic link; remove it") from None
            raise AelabError(f"cannot use {self.path}: {err.strerror or err}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pid = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            raise RunDirError(f"{self.path} is in use by another run (pid {pid or '?'}); wait for it to end, "
                              "or choose another directory") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None


def _describe(checkpoint: dict[str, Any] | None, metrics: dict[str, Any] | None) -> str:
    record = (checkpoint or {}).get("record") or metrics or {}
    status = record.get("status", "unknown status")
    done, planned = record.get("epochs_completed"), ((checkpoint or {}).get("config") or record.get("hparams") or {}
                                                      ).get("trainer", {}).get("epochs")
    text = f"a {status} run"
    if done is not None:
        text += f", {done}{f' of {planned}' if planned else ''} epochs"
    test = (record.get("test") or {}).get("sq_err_per_image")
    return text + (f", test sq_err_per_image {test:.3f}" if isinstance(test, (int, float)) else "")


def _read_run(run: RunDir) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(verified last.pt or None, metrics.json or None) of a directory that holds a run."""
    checkpoint = load_checkpoint(run.last) if run.last.exists() or run.last.is_symlink() else None
    metrics = None
    if checkpoint is None and run.metrics.exists():
        metrics = read_json(run.metrics)
        if not isinstance(metrics, dict):
            raise CorruptFileError(f"{run.metrics} does not hold a run's metrics")
    return checkpoint, metrics


def _check_links(run: RunDir) -> None:
    for path in (run.log, run.metrics, run.path / LOCK):
        if path.is_symlink():
            raise RunDirError(f"{path} is a symbolic link (to {os.readlink(path)}); aelab does not write "
                              "through links: remove it")


def plan(run_dir: Path, requested: dict[str, Any], resume: bool, skip_done: bool) -> Plan:
    """What ``train()`` may do in ``run_dir`` (see the module doc). Reads, never writes."""
    run = RunDir(run_dir)
    where = str(run_dir)
    if resume:
        if not run_dir.is_dir():
            raise RunDirError(f"resume={where}: no such directory")
        _check_links(run)
        if not (run.last.exists() or run.last.is_symlink()):
            why = ""
            if run.metrics.exists():
                try:
                    error = (read_json(run.metrics) or {}).get("error")
                    why = f" (the run stopped before its first checkpoint: {error})" if error else ""
                except CorruptFileError:
                    pass
            raise RunDirError(f"resume={where}: nothing to resume, there is no checkpoints/last.pt{why}; "
                              "start the run again in a new directory")
        checkpoint = load_checkpoint(run.last)
        record = checkpoint.get("record") or {}
        if record.get("status") == "completed":
            return Plan("complete", run_dir, checkpoint)
        return Plan("resume", run_dir, checkpoint)

    entries = run.entries()
    pid = run.holder()
    if pid == os.getpid():  # planning again under our own lock
        entries.remove(LOCK)
        pid = None
    if not entries or (entries == [LOCK] and pid is None):  # a lock alone: a run killed as it began
        return Plan("fresh", run_dir)
    if pid is not None:
        raise RunDirError(f"{where} is in use by another run (pid {pid or '?'}); wait for it to end, or choose "
                          "another directory")
    run_files = {"metrics.json", "checkpoints", "train.log", ".hydra", "tb", LOCK, "metrics.csv"}
    if not run_files & set(entries):
        raise RunDirError(f"{where} is not empty ({', '.join(entries[:5])}{', …' if len(entries) > 5 else ''}); "
                          "a run needs a new or empty directory: choose another hydra.run.dir")
    if not skip_done:
        try:
            what = _describe(*_read_run(run))
        except AelabError:
            what = "the files of a run"
        raise RunDirError(f"{where} already holds {what}; continue it with resume={where}, skip it with "
                          "skip_done=true, or choose another directory (hydra.run.dir)")
    _check_links(run)
    checkpoint, metrics = _read_run(run)
    saved = (checkpoint or {}).get("config") or (metrics or {}).get("hparams")
    if not isinstance(saved, dict):
        raise RunDirError(f"{where} holds a run whose config cannot be read (no checkpoints/last.pt and no "
                          "hparams in metrics.json); choose another directory")
    diffs = differences(saved, requested)
    if diffs:
        raise RunDirError(f"{where} holds a different run, so skip_done=true does not skip it: {'; '.join(diffs[:4])}"
                          f"{'; …' if len(diffs) > 4 else ''}; choose another directory")
    status = ((checkpoint or {}).get("record") or metrics or {}).get("status")
    if status == "completed" and checkpoint is not None:
        return Plan("skip", run_dir, checkpoint)
    if checkpoint is not None:
        return Plan("resume", run_dir, checkpoint, notes=[f"skip_done: continuing the unfinished run in {where}"])
    if status == "completed":  # metrics.json says completed, but last.pt is gone: a run that cannot be checked
        raise RunDirError(f"{where} holds a completed run whose checkpoints/last.pt is missing; its results cannot "
                          "be verified: choose another directory")
    return Plan("fresh", run_dir, notes=[f"skip_done: the earlier attempt in {where} stopped before its first "
                                         "checkpoint; starting it again"])


__all__ = ["LOCK", "Plan", "RunDir", "plan"]
