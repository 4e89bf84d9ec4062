"""Read a sweep directory: every job, its overrides, status and metrics — and the jobs that are not there.

A Hydra multirun writes ``<sweep dir>/multirun.yaml`` (the sweep's config and command line) and one
numbered job dir per job, ``<sweep dir>/<num>/`` with ``.hydra/overrides.yaml`` and, from
``train(cfg)``, ``checkpoints/last.pt`` and ``metrics.json`` (read as :mod:`.record` says: last.pt's
record wins over a metrics.json it does not name). A job is

* ``completed`` / ``failed`` / ``interrupted`` / ``crashed``: what its record says (a launcher
  writes ``crashed`` when the job's process died);
* ``running``: no final status yet and a live process holds the job dir's lock;
* ``crashed`` also: no final status and no process holds the lock (killed before its launcher could
  say so), or a job dir without a record (died before its first checkpoint);
* ``refused``: the job was refused before it started and its dir holds another run, left untouched
  (``<sweep dir>/.refused/<job>.json``); a refusal older than the job's record, or of a job whose
  record says completed, is dropped: the record wins;
* ``stale``: the job dir holds a run of other overrides than the sweep's grid gives this job;
* ``foreign``: the job dir's overrides are the job's, but its record is another run's: its config
  differs from the one the sweep gives the job (:mod:`.identity`);
* ``missing``: in the sweep's grid (multirun.yaml) or trial count (Optuna), but no job dir.

``refused``, ``stale`` and ``foreign`` jobs show no metrics: the run in their dir is not this
sweep's. A dir with no job number, a number beyond the sweep's grid or trial count, or a second dir
of one job number is not part of the sweep: it is listed apart (:attr:`Sweep.outside`), never as a job.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from aelab.config.sweep import axes_of
from aelab.errors import RunDirError
from aelab.files import os_error
from aelab.reports.sweep.jobs import Job, container, load_yaml, override_dict, read_job
from aelab.reports.sweep.placement import apply_refusals, place


@dataclass
class Sweep:
    dir: Path
    jobs: list[Job]
    swept: list[str]  # keys the sweep varies, in command-line order
    task_overrides: list[str]  # the sweep's own command line (task part)
    hydra_overrides: list[str]  # ... and its hydra part (launcher, sweep dir)
    sweeper: str  # basic | optuna | the sweeper's class name
    params: dict[str, str]  # hydra.sweeper.params
    job_name: str = "train"
    cwd: str | None = None  # where the sweep was launched
    expected: int | None = None  # jobs the sweep should have (None: unknown)
    outside: list[Job] = field(default_factory=list)  # dirs that are not this sweep's jobs, with why

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for j in self.jobs:
            out[j.status] = out.get(j.status, 0) + 1
        return out


def expected_jobs(multirun: Any) -> tuple[list[list[str]] | None, int | None]:
    """The overrides of every job the sweep launches (basic sweeper), or only their number (Optuna)."""
    if multirun is None:
        return None, None
    target = str(OmegaConf.select(multirun, "hydra.sweeper._target_", default="") or "")
    if "optuna" in target.lower():
        n = OmegaConf.select(multirun, "hydra.sweeper.n_trials", default=None)
        return None, int(n) if n is not None else None
    if "BasicSweeper" not in target:
        return None, None
    params = container(OmegaConf.select(multirun, "hydra.sweeper.params", default=None)) or {}
    task = container(OmegaConf.select(multirun, "hydra.overrides.task", default=None)) or []
    try:
        jobs = grid([f"{k}={v}" for k, v in params.items()] + list(task))
    except Exception:  # e.g. a glob() that needs the config repository: the grid stays unknown
        return None, None
    return jobs, len(jobs)


def grid(overrides: list[str]) -> list[list[str]]:
    """The jobs of a basic sweep, in its order: the product of every override's values, a later
    override of a key replacing an earlier one (as Hydra's basic sweeper does), parsed with Hydra's
    public override parser."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    values: dict[str, list[str]] = {}
    for override in OverridesParser.create().parse_overrides(overrides):
        key = override.get_key_element()
        values.pop(key, None)
        values[key] = (
            [f"{key}={v}" for v in override.sweep_string_iterator()]
            if override.is_sweep_override()
            else [f"{key}={override.get_value_element_as_str()}"]
        )
    return [list(job) for job in itertools.product(*values.values())]


def _swept_keys(multirun: Any, jobs: list[Job]) -> list[str]:
    keys: list[str] = []
    if multirun is not None:
        params = container(OmegaConf.select(multirun, "hydra.sweeper.params", default=None)) or {}
        keys += [str(k) for k in params]
        task = container(OmegaConf.select(multirun, "hydra.overrides.task", default=None)) or []
        try:
            from hydra.core.override_parser.overrides_parser import OverridesParser

            keys += [
                o.get_key_element().lstrip("+~")
                for o in OverridesParser.create().parse_overrides(list(task))
                if o.is_sweep_override()
            ]
        except Exception:
            pass
    values: dict[str, set[str]] = {}
    order: list[str] = []
    for job in jobs:
        for k, v in override_dict(job.overrides).items():
            if k not in values:
                values[k] = set()
                order.append(k)
            values[k].add(v)
    keys += [k for k in order if len(values[k]) > 1]
    return list(dict.fromkeys(keys))


def _task_config(multirun: Any) -> dict[str, Any] | None:
    task = container(multirun)
    if not isinstance(task, dict):
        return None
    return {k: v for k, v in task.items() if k != "hydra"}


def collect_sweep(sweep_dir: str | Path) -> Sweep:
    """Every job of the sweep in ``sweep_dir`` (found or expected), sorted by job number, and the
    dirs that are not its jobs. A sweep dir that cannot be read is one AelabError naming it."""
    sweep_dir = Path(sweep_dir)
    try:
        if not sweep_dir.is_dir():
            raise RunDirError(f"{sweep_dir}: no such directory")
        has_multirun = (sweep_dir / "multirun.yaml").exists()
    except OSError as err:
        raise os_error(err, sweep_dir, "read") from None
    multirun = load_yaml(sweep_dir / "multirun.yaml") if has_multirun else None
    grid, n_expected = expected_jobs(multirun)
    base, swept = _task_config(multirun), list(axes_of(multirun)) if multirun is not None else []
    found, outside = place(sweep_dir, grid, n_expected, base, swept)
    apply_refusals(sweep_dir, found)
    jobs = dict(found)
    for num in range(n_expected or 0):
        if num not in jobs:
            overrides = grid[num] if grid is not None else []
            what = "not launched or its dir was deleted" if grid is not None else "trial not run"
            jobs[num] = Job(num=num, dir=None, status="missing", overrides=overrides, error=f"no job dir: {what}")
    ordered = [jobs[k] for k in sorted(jobs)]

    def select(key: str, default: Any) -> Any:
        return container(OmegaConf.select(multirun, key, default=default)) if multirun is not None else default

    target = str(select("hydra.sweeper._target_", "") or "")
    sweeper = (
        "optuna"
        if "optuna" in target.lower()
        else "basic"
        if "BasicSweeper" in target
        else (target.rsplit(".", 1)[-1] or "unknown")
    )
    return Sweep(
        dir=sweep_dir,
        jobs=ordered,
        swept=_swept_keys(multirun, ordered),
        task_overrides=[str(o) for o in select("hydra.overrides.task", []) or []],
        hydra_overrides=[str(o) for o in select("hydra.overrides.hydra", []) or []],
        sweeper=sweeper,
        params={str(k): str(v) for k, v in (select("hydra.sweeper.params", {}) or {}).items()},
        job_name=str(select("hydra.job.name", "train") or "train"),
        cwd=select("hydra.runtime.cwd", None),
        expected=n_expected,
        outside=outside,
    )


def finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Grid:
    """The two axes the report's heatmap, curves and gradient-flow table are laid out on.

    Columns: ``depth`` when the sweep varies it (or varies one key only), else its last swept key.
    Rows: every other swept key, together (``ae=vae, activation=relu``), or the one alone (``relu``).
    An activation × depth sweep is rows ``activation``, columns ``depth``; ``ae=… activation=…``
    is rows ``ae``, columns ``activation``."""

    row_keys: tuple[str, ...] = ("activation",)
    col_key: str = "depth"

    def row(self, job: Job) -> str:
        values = [str(job.param(k)) for k in self.row_keys]
        return values[0] if len(values) == 1 else ", ".join(f"{k}={v}" for k, v in zip(self.row_keys, values))

    def col(self, job: Job) -> Any:
        value = job.param(self.col_key)
        number = as_int(value)
        return number if number is not None and str(number) == str(value) else (None if value is None else str(value))

    def axes(self, jobs: list[Job]) -> tuple[list[str], list[Any]]:
        """The row labels (in sweep order) and column values (ascending numbers, else sweep order)."""
        rows = list(dict.fromkeys(self.row(j) for j in jobs if all(j.param(k) is not None for k in self.row_keys)))
        cols = list(dict.fromkeys(c for c in (self.col(j) for j in jobs) if c is not None))
        if all(isinstance(c, int) for c in cols):
            cols = sorted(cols)
        return rows, cols

    @property
    def row_title(self) -> str:
        return " × ".join(self.row_keys)

    @property
    def col_title(self) -> str:
        return "depth (layers per side)" if self.col_key == "depth" else self.col_key

    def col_label(self, value: Any) -> str:
        return f"depth {value}" if self.col_key == "depth" else f"{self.col_key}={value}"


def grid_of(swept: list[str]) -> Grid:
    """The report's :class:`Grid` for a sweep of the keys ``swept`` (command-line order)."""
    if "depth" in swept or len(swept) < 2:
        col = "depth"
    else:
        col = swept[-1]
    rows = tuple(k for k in swept if k != col) or ("activation",)
    return Grid(rows, col)


ACTIVATION_DEPTH = Grid()


def activation_depth_axes(jobs: list[Job]) -> tuple[list[str], list[int]]:
    """The activations (in sweep order) and depths (ascending) the jobs cover."""
    return ACTIVATION_DEPTH.axes(jobs)


__all__ = [
    "ACTIVATION_DEPTH",
    "Grid",
    "Job",
    "Sweep",
    "activation_depth_axes",
    "as_int",
    "collect_sweep",
    "expected_jobs",
    "finite",
    "grid_of",
    "override_dict",
    "read_job",
]
