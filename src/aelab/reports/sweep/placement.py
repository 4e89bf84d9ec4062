"""Which dirs of a sweep dir are its jobs: one dir per job number within the sweep's grid (the one
whose overrides are the grid point's, of several), judged ``stale`` or ``foreign`` when the run in
it is not the job's (:mod:`.identity`), ``refused`` while a refusal is newer than its record; every
other dir is listed apart, as not part of this sweep."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aelab.config.sweep import job_num
from aelab.errors import AelabError
from aelab.files import os_error, read_json
from aelab.reports.sweep.identity import expected_config, mismatches
from aelab.reports.sweep.jobs import Job, job_number, read_job, what_it_trains

OUTSIDE = "not part of this sweep"


def _holds_hydra(path: Path) -> bool:
    try:
        return (path / ".hydra").is_dir()
    except OSError:  # a dir it may not look into: not a job dir unless its name says so
        return False


def _job_dirs(sweep_dir: Path) -> list[Path]:
    """The dirs that look like job dirs: numbered, or holding ``.hydra/``."""
    try:
        dirs = sorted(p for p in sweep_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError as err:
        raise os_error(err, sweep_dir, "read") from None
    return [p for p in dirs if job_num(p.name) is not None or _holds_hydra(p)]


def _outside(path: Path | None, num: int | None, why: str) -> Job:
    return Job(num=num if num is not None else -1, dir=path, status=OUTSIDE, error=why)


def place(
    sweep_dir: Path, grid: list[list[str]] | None, n_expected: int | None, base: dict[str, Any] | None, swept: list[str]
) -> tuple[dict[int, Job], list[Job]]:
    """The job of each number, judged (of several dirs of one number: the first that is the job, not
    stale or foreign), and the dirs that are not the sweep's jobs."""
    by_num: dict[int, list[Path]] = {}
    outside: list[Job] = []
    for path in _job_dirs(sweep_dir):
        num = job_number(path)
        if num is None:
            outside.append(_outside(path, num, "no job number (its name does not start with one)"))
        elif n_expected is not None and num >= n_expected:
            outside.append(_outside(path, num, f"job {num} is beyond the sweep's {n_expected} jobs"))
        else:
            by_num.setdefault(num, []).append(path)
    found: dict[int, Job] = {}
    for num, paths in by_num.items():
        jobs = [read_job(path, num) for path in paths]
        for job in jobs:
            judge(job, grid[num] if grid is not None else None, base, swept)
        found[num] = next((j for j in jobs if j.status not in ("stale", "foreign")), jobs[0])
        chosen = paths[jobs.index(found[num])]
        outside += [_outside(j.dir, num, f"job {num} is {chosen.name}/") for j in jobs if j is not found[num]]
    return found, outside


def judge(job: Job, point: list[str] | None, base: dict[str, Any] | None, swept: list[str]) -> None:
    """Mark ``job`` ``stale`` (its dir's overrides are not the grid point's) or ``foreign`` (its record
    is another run's), without metrics; leave it as it is when it is the sweep's job."""
    if point is not None and job.overrides and what_it_trains(job.overrides) != what_it_trains(point):
        why = f"the job dir holds a run of other overrides ({' '.join(job.overrides)}), not this sweep's"
        job.status, job.metrics, job.config, job.error, job.overrides = "stale", None, None, why, point
        return
    overrides = point if point is not None else job.overrides
    expected = expected_config(base, overrides, swept)
    if expected is None:
        return
    if job.config is not None:
        diffs = mismatches(job.config, expected)
    else:  # a refusal's record holds no config, only the overrides it was refused with
        refused = (job.metrics or {}).get("overrides")
        diffs = (
            []
            if not isinstance(refused, list) or what_it_trains([str(o) for o in refused]) == what_it_trains(overrides)
            else [f"overrides {' '.join(map(str, refused))}"]
        )
    if diffs:
        shown = "; ".join(diffs[:3]) + ("; …" if len(diffs) > 3 else "")
        why = (
            f"the job dir holds another run's record ({shown}), not this sweep's job; move the dir away "
            "and complete the sweep with skip_done=true to train the job"
        )
        job.status, job.metrics, job.config, job.error, job.overrides = "foreign", None, None, why, overrides


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def apply_refusals(sweep_dir: Path, found: dict[int, Job]) -> None:
    """``.refused/<job>.json``: the job was refused because its dir held another run. A completed
    record wins over it, whenever it came; any other record wins if it is newer (the job ran since)."""
    folder = sweep_dir / ".refused"
    for refusal in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            num, record = int(refusal.stem), read_json(refusal)
        except (ValueError, AelabError):
            continue
        job = found.get(num)
        if job is None or job.dir is None or job.completed or not isinstance(record, dict):
            continue
        written = max(_mtime(job.dir / "metrics.json"), _mtime(job.dir / "checkpoints" / "last.pt"))
        if written > _mtime(refusal):
            continue
        job.status, job.metrics, job.config, job.error = "refused", None, None, record.get("error")


__all__ = ["OUTSIDE", "apply_refusals", "judge", "place"]
