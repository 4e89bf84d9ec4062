"""A run directory belongs to one run.

:func:`plan` decides, without writing anything, what a ``train()`` call may do in a directory:

* ``fresh``: the directory is new or empty;
* ``resume``: ``resume=<dir>`` on an unfinished run (or ``skip_done=true`` on an unfinished run of
  the same config): continue from ``checkpoints/last.pt``;
* ``restart``: the same, for a run killed before its first checkpoint: start it again in its own
  directory, with the config it recorded (``.hydra/config.yaml``, the first thing a run writes);
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

from aelab.config.saved import complete_saved, differences
from aelab.errors import AelabError, CorruptFileError, RunDirError
from aelab.files import FILE_MODE, check_can_create, os_error, read_json, recorded_hashes, sha256_file

LOCK = ".lock"
_HELD: set[Path] = set()  # run directories this process holds the lock of


@dataclass
class Plan:
    action: str  # fresh | resume | restart | skip | complete
    run_dir: Path
    checkpoint: dict[str, Any] | None = None  # last.pt, verified (resume, skip, complete)
    config: dict[str, Any] | None = None  # the run's own config (resume, restart, skip, complete)
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
        self.config = self.hydra / "config.yaml"
        self.tb = self.path / "tb"
        self._lock_fd: int | None = None

    def entries(self) -> list[str]:
        try:
            return sorted(p.name for p in self.path.iterdir())
        except FileNotFoundError:
            return []
        except OSError as err:  # a file where the folder belongs, a name too long, no permission
            raise os_error(err, self.path, "use") from None

    def holds_run(self) -> bool:
        """A run has begun here: it recorded its config, a checkpoint or metrics."""
        return any(p.exists() or p.is_symlink() for p in (self.last, self.metrics, self.config))

    def leftovers(self) -> bool:
        """Only what a run killed as it began leaves: its lock, temp files, a checkpoint's hash."""
        names = set(self.entries()) - {LOCK}
        if not names <= {"checkpoints"}:
            return False
        return all(p.name.endswith((".tmp", ".sha256")) for p in self.checkpoints.iterdir()) if names else True

    def remove_leftovers(self) -> None:
        if self.checkpoints.is_dir():
            for p in self.checkpoints.iterdir():
                if p.name.endswith((".tmp", ".sha256")):
                    p.unlink(missing_ok=True)

    def holder(self) -> int | None:
        """The pid of another live process that holds this directory's lock (0 if unknown); None
        if nobody does."""
        if self.path.absolute() in _HELD:
            return os.getpid()
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
            raise os_error(err, self.path / LOCK) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pid = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            raise RunDirError(
                f"{self.path} is in use by another run (pid {pid or '?'}); wait for it to end, "
                "or choose another directory"
            ) from None
        try:  # who holds it, for the message a second process gets; the lock works without it
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass
        self._lock_fd = fd
        _HELD.add(self.path.absolute())

    def unlock(self) -> None:
        if self._lock_fd is not None:
            _HELD.discard(self.path.absolute())
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None


def _describe(checkpoint: dict[str, Any] | None, config: dict[str, Any] | None) -> str:
    if checkpoint is None:
        return "a run stopped before its first checkpoint"
    record = checkpoint.get("record") or {}
    status = record.get("status", "unknown status")
    done, planned = record.get("epochs_completed"), (config or {}).get("trainer", {}).get("epochs")
    # "running" in last.pt with nobody holding the dir: the process died (kill -9, a crash, power)
    text = "an unfinished run (its process was killed)" if status == "running" else f"a {status} run"
    if done is not None:
        text += f", {done}{f' of {planned}' if planned else ''} epochs"
    test = (record.get("test") or {}).get("sq_err_per_image")
    return text + (f", test sq_err_per_image {test:.3f}" if isinstance(test, (int, float)) else "")


def _describe_from_metrics(run: RunDir) -> str:
    """What a directory holds, in words, from its metrics.json (read without torch: a refusal of an
    occupied directory needs no checkpoint loaded)."""
    try:
        metrics = read_json(run.metrics) if run.metrics.exists() else None
    except AelabError:
        metrics = None
    if not isinstance(metrics, dict) or not isinstance(metrics.get("status"), str):
        return "the files of a run"
    return _describe({"record": metrics}, metrics.get("hparams") if isinstance(metrics.get("hparams"), dict) else None)


def read_config(run: RunDir) -> dict[str, Any]:
    """The config a run recorded when it began (``.hydra/config.yaml``), as plain values."""
    import yaml

    try:
        values = yaml.safe_load(run.config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise CorruptFileError(f"{run.config} cannot be read ({type(err).__name__})") from None
    if not isinstance(values, dict) or not isinstance(values.get("model"), dict):
        raise CorruptFileError(f"{run.config} does not hold a run's config")
    return values


def _read_run(run: RunDir) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(verified last.pt or None, the run's config or None) of a directory that holds a run; the
    config completed as the run trained (complete_saved: a key it lacks without a compatibility
    rule is refused, naming it)."""
    from aelab.training.checkpoint import load_checkpoint  # torch: only for a run that has one

    checkpoint, saved = None, None
    if run.last.exists() or run.last.is_symlink():
        checkpoint = load_checkpoint(run.last)
        saved = checkpoint.get("config")
    elif run.config.exists():
        saved = read_config(run)
    elif run.metrics.exists():
        metrics = read_json(run.metrics)
        saved = metrics.get("hparams") if isinstance(metrics, dict) else None
    return checkpoint, complete_saved(saved) if isinstance(saved, dict) else saved


def _check_best(run: RunDir) -> None:
    """A best.pt that does not match its own recorded hash is damaged: say so before anything is
    written. (One that matches its hash but is older than last.pt's record, from a kill between the
    two writes, is rewritten from last.pt when the run resumes.)"""
    if run.best.exists() and sha256_file(run.best) not in recorded_hashes(run.best):
        raise CorruptFileError(
            f"{run.best} is corrupt: its SHA-256 differs from the one recorded when it was "
            f"written ({run.best.name}.sha256)"
        )


def _check_links(run: RunDir) -> None:
    for path in (run.log, run.metrics, run.path / LOCK):
        if path.is_symlink():
            raise RunDirError(
                f"{path} is a symbolic link (to {os.readlink(path)}); aelab does not write through links: remove it"
            )


def plan(run_dir: Path, requested: dict[str, Any], resume: bool, skip_done: bool) -> Plan:
    """What ``train()`` may do in ``run_dir`` (see the module doc). Reads, never writes; a directory
    that cannot be created or read (a name too long, a read-only file system, no permission) is one
    line naming it."""
    try:
        return _plan(run_dir, requested, resume, skip_done)
    except OSError as err:
        raise os_error(err, doing="read") from None


def _plan(run_dir: Path, requested: dict[str, Any], resume: bool, skip_done: bool) -> Plan:
    run = RunDir(run_dir)
    where = str(run_dir)
    if resume:
        if not run_dir.is_dir():
            raise RunDirError(f"resume={where}: no such directory")
        _check_links(run)
        if run.holder() not in (None, os.getpid()):
            raise RunDirError(f"{where} is in use by another run (pid {run.holder() or '?'}); wait for it to end")
        checkpoint, saved = _read_run(run)
        if checkpoint is not None:
            if (checkpoint.get("record") or {}).get("status") == "completed":
                return Plan("complete", run_dir, checkpoint, saved)
            _check_best(run)
            return Plan("resume", run_dir, checkpoint, saved)
        if saved is not None and run.config.exists():
            return Plan(
                "restart",
                run_dir,
                None,
                saved,
                notes=[
                    f"the run in {where} was stopped before its first checkpoint; starting it again from its config"
                ],
            )
        raise RunDirError(
            f"resume={where}: nothing to resume (no checkpoints/last.pt and no recorded config); "
            "start the run again in this or a new directory"
        )

    if not os.path.lexists(run_dir):  # new (or its path cannot even be looked at): can it be created?
        check_can_create(run_dir)  # before Hydra or the run creates any of it
        return Plan("fresh", run_dir)
    entries = run.entries()
    pid = run.holder()
    if pid == os.getpid():  # planning again under our own lock
        pid = None
    if pid is not None:
        raise RunDirError(
            f"{where} is in use by another run (pid {pid or '?'}); wait for it to end, or choose another directory"
        )
    if not entries or run.leftovers():  # empty, or what a run killed as it began leaves
        check_can_create(run_dir)  # read-only, or no write permission: refused before anything is written
        return Plan("fresh", run_dir)
    if not run.holds_run():
        raise RunDirError(
            f"{where} is not empty ({', '.join(entries[:5])}{', …' if len(entries) > 5 else ''}); "
            "a run needs a new or empty directory: choose another hydra.run.dir"
        )
    if not skip_done:
        what = _describe_from_metrics(run)
        raise RunDirError(
            f"{where} already holds {what}; continue it with resume={where}, skip it with "
            "skip_done=true, or choose another directory (hydra.run.dir)"
        )
    _check_links(run)
    checkpoint, saved = _read_run(run)
    if not isinstance(saved, dict):
        raise RunDirError(f"{where} holds a run whose config cannot be read; choose another directory")
    diffs = differences(saved, requested)
    if diffs:
        raise RunDirError(
            f"{where} holds a different run, so skip_done=true does not skip it: {'; '.join(diffs[:4])}"
            f"{'; …' if len(diffs) > 4 else ''}; choose another directory"
        )
    if checkpoint is None:
        return Plan(
            "restart",
            run_dir,
            None,
            saved,
            notes=[f"skip_done: the run in {where} was stopped before its first checkpoint; starting it again"],
        )
    if (checkpoint.get("record") or {}).get("status") == "completed":
        return Plan("skip", run_dir, checkpoint, saved)
    _check_best(run)
    return Plan("resume", run_dir, checkpoint, saved, notes=[f"skip_done: continuing the unfinished run in {where}"])


__all__ = ["LOCK", "Plan", "RunDir", "plan"]
