"""A job dir's record, read as the run's truth: ``metrics.json`` when it is the one
``checkpoints/last.pt`` names, else last.pt's own record (a metrics.json from another run, one
damaged or left behind by a refusal, or not yet rewritten after the last commit); the config the
run recorded; and, named, every file that could not be read (the report goes on without it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aelab.config import complete_saved, fingerprint
from aelab.errors import AelabError
from aelab.files import os_error, read_json, recorded_hashes
from aelab.training.checkpoint import load_checkpoint
from aelab.training.rundir import RunDir, read_config


@dataclass
class Record:
    metrics: dict[str, Any] | None  # the run's record with its config (hparams), as metrics.json holds it
    config: dict[str, Any] | None  # the config the run recorded (None: none could be read)
    problem: str | None = None  # a file that could not be read, named


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _named_by_last(metrics: dict[str, Any] | None, run: RunDir) -> bool:
    """metrics.json was written from the last.pt on disk (it names the hash last.pt records)."""
    named = ((metrics or {}).get("checkpoints") or {}).get("last.pt")
    return bool(named) and named in recorded_hashes(run.last)


def _from_last(run: RunDir) -> dict[str, Any]:
    """The metrics last.pt's record gives (what metrics.json is written from)."""
    checkpoint = load_checkpoint(run.last)
    values = checkpoint.get("config")
    if not isinstance(values, dict) or not isinstance(checkpoint.get("record"), dict):
        raise AelabError(f"{run.last} holds no run record")
    values = complete_saved(values)
    return {**checkpoint["record"], "hparams": values, "config_fingerprint": fingerprint(values)}


def _read_metrics(run: RunDir, problems: list[str]) -> dict[str, Any] | None:
    try:
        if not _exists(run.metrics):
            return None
        raw = read_json(run.metrics)
    except AelabError as err:  # not JSON, not UTF-8, no permission: named, and the report goes on
        problems.append(str(err))
        return None
    except OSError as err:
        problems.append(str(os_error(err, run.metrics, "read")))
        return None
    if not isinstance(raw, dict):
        problems.append(f"{run.metrics} does not hold a run's metrics")
        return None
    return raw


def read_record(path: Path) -> Record:
    """The record of the run in job dir ``path`` (see the module doc)."""
    run = RunDir(path)
    problems: list[str] = []
    metrics = _read_metrics(run, problems)
    try:
        if _exists(run.last) and not _named_by_last(metrics, run):
            metrics = _from_last(run)
            if problems:
                problems[-1] += "; the job's record comes from checkpoints/last.pt"
    except AelabError as err:  # a damaged last.pt: metrics.json, if any, is all there is
        problems.append(str(err))
    except OSError as err:
        problems.append(str(os_error(err, doing="read")))
    config = metrics.get("hparams") if metrics is not None else None
    if not isinstance(config, dict) and _exists(run.config):
        try:
            config = read_config(run)
        except (AelabError, OSError):
            config = None
    return Record(metrics, config if isinstance(config, dict) else None, "; ".join(problems) or None)


__all__ = ["Record", "read_record"]
