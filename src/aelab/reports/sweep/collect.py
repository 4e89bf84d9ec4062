"""Read a sweep directory: every job, its overrides, status and metrics — and the jobs that are not there.

A Hydra multirun writes ``<sweep dir>/multirun.yaml`` (the sweep's config and command line) and one
numbered job dir per job, ``<sweep dir>/<num>/`` with ``.hydra/overrides.yaml`` and, from
``train(cfg)``, ``metrics.json``. A job is

* ``completed`` / ``failed`` / ``interrupted`` / ``crashed``: what its metrics.json says (a
  launcher writes ``crashed`` when the job's process died);
* ``running``: no final status yet and a live process holds the job dir's lock;
* ``crashed`` also: no final status and no process holds the lock (killed before its launcher could
  say so), or a job dir without metrics.json (died before its first checkpoint);
* ``refused``: the job was refused before it started and its dir holds another run, left untouched
  (``<sweep dir>/.refused/<job>.json``);
* ``stale``: the job dir holds a run of other overrides than the sweep's grid gives this job;
* ``missing``: in the sweep's grid (multirun.yaml) or trial count (Optuna), but no job dir.

``refused`` and ``stale`` jobs show no metrics: the run in their dir is not this sweep's.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from aelab.config import keys_with_role, override_key
from aelab.config.sweep import job_num
from aelab.training.rundir import RunDir

FINAL = ("completed", "failed", "interrupted", "crashed")
NO_METRICS = "no metrics.json: the job died before its first checkpoint, or has not started"
KILLED = "no final status and no process holds the job dir: the job was killed; skip_done=true resumes it"


@dataclass
class Job:
    num: int
    dir: Path | None
    status: str
    overrides: list[str] = field(default_factory=list)
    metrics: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    error: str | None = None

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    def param(self, key: str) -> Any:
        """A config value by dotted key: from the run's config, else from its overrides (a string).
        A config group (``ae``, ``model``) is its chosen option: ``vae``, ``conv``."""
        node: Any = self.config
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return override_dict(self.overrides).get(key)
            node = node[part]
        if isinstance(node, dict):
            return override_dict(self.overrides).get(key) or node.get("name") or node.get("family")
        return node

    def metric(self, split: str, name: str = "sq_err_per_image") -> float | None:
        block = (self.metrics or {}).get(split)
        value = block.get(name) if isinstance(block, dict) else None
        return float(value) if value is not None else None


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

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for j in self.jobs:
            out[j.status] = out.get(j.status, 0) + 1
        return out


def _what(overrides: list[str]) -> dict[str, str]:
    """The overrides that decide what a job trains (not where or how it runs, nor how it reports)."""
    return {
        k: v
        for k, v in override_dict(overrides).items()
        if not any(k == vol or k.startswith(vol + ".") for vol in (*keys_with_role("where"), *keys_with_role("report")))
    }


def override_dict(overrides: list[str]) -> dict[str, str]:
    return {override_key(o): o.split("=", 1)[1] for o in overrides if "=" in o}


def _load_yaml(path: Path) -> Any:
    try:
        return OmegaConf.load(path)
    except Exception:  # a half-written or foreign file: treated as absent
        return None


def _container(node: Any, resolve: bool = False) -> Any:
    if node is None or not OmegaConf.is_config(node):
        return node
    try:
        return OmegaConf.to_container(node, resolve=resolve)
    except Exception:
        return OmegaConf.to_container(node, resolve=False)


def _job_num(path: Path) -> int | None:
    named = job_num(path.name)  # 03_activation=sigmoid,depth=8 (or a plain 3)
    if named is not None:
        return named
    hydra_cfg = _load_yaml(path / ".hydra" / "hydra.yaml")
    num = OmegaConf.select(hydra_cfg, "hydra.job.num", default=None) if hydra_cfg is not None else None
    return int(num) if num is not None else None


def read_job(path: Path, num: int) -> Job:
    overrides = _container(_load_yaml(path / ".hydra" / "overrides.yaml")) or []
    overrides = [str(o) for o in overrides] if isinstance(overrides, list) else []
    job = Job(num=num, dir=path, status="crashed", overrides=overrides)
    metrics_path = path / "metrics.json"
    if metrics_path.exists():
        try:
            job.metrics = json.loads(metrics_path.read_text())
        except (json.JSONDecodeError, OSError) as err:
            job.error = f"unreadable metrics.json: {err}"
            return job
        if not isinstance(job.metrics, dict):
            job.metrics, job.error = None, "metrics.json does not hold a run's metrics"
            return job
        job.status = str(job.metrics.get("status") or "running")
        job.config = job.metrics.get("hparams")
        job.error = job.metrics.get("error")
        if job.status not in FINAL:
            alive = RunDir(path).holder() is not None
            job.status, job.error = ("running", job.error) if alive else ("crashed", KILLED)
    else:
        job.status, job.error = "crashed", NO_METRICS
    if job.config is None:
        job.config = _container(_load_yaml(path / ".hydra" / "config.yaml"), resolve=True)
    return job


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
    params = _container(OmegaConf.select(multirun, "hydra.sweeper.params", default=None)) or {}
    task = _container(OmegaConf.select(multirun, "hydra.overrides.task", default=None)) or []
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
        params = _container(OmegaConf.select(multirun, "hydra.sweeper.params", default=None)) or {}
        keys += [str(k) for k in params]
        task = _container(OmegaConf.select(multirun, "hydra.overrides.task", default=None)) or []
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


def collect_sweep(sweep_dir: str | Path) -> Sweep:
    """Every job of the sweep in ``sweep_dir`` (found or expected), sorted by job number."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise FileNotFoundError(f"{sweep_dir}: no such directory")
    multirun = _load_yaml(sweep_dir / "multirun.yaml") if (sweep_dir / "multirun.yaml").exists() else None
    found: dict[int, Job] = {}
    for path in sorted(p for p in sweep_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not (job_num(path.name) is not None or (path / ".hydra").is_dir()):
            continue
        num = _job_num(path)
        if num is not None and num not in found:
            found[num] = read_job(path, num)
    grid, n_expected = expected_jobs(multirun)
    for num, job in found.items():  # a dir holding a run of other overrides is not this sweep's job
        if grid is not None and num < len(grid) and job.overrides and _what(job.overrides) != _what(grid[num]):
            job.status, job.metrics, job.error = (
                "stale",
                None,
                (f"the job dir holds a run of other overrides ({' '.join(job.overrides)}), not this sweep's"),
            )
            job.overrides = grid[num]
    for refusal in sorted((sweep_dir / ".refused").glob("*.json")) if (sweep_dir / ".refused").is_dir() else []:
        try:
            num, record = int(refusal.stem), json.loads(refusal.read_text())
        except (ValueError, OSError):
            continue
        if num in found:
            found[num].status, found[num].metrics, found[num].error = "refused", None, record.get("error")
    jobs = dict(found)
    for num in range(n_expected or 0):
        if num not in jobs:
            overrides = grid[num] if grid is not None else []
            what = "not launched or its dir was deleted" if grid is not None else "trial not run"
            jobs[num] = Job(num=num, dir=None, status="missing", overrides=overrides, error=f"no job dir: {what}")
    ordered = [jobs[k] for k in sorted(jobs)]

    def select(key: str, default: Any) -> Any:
        return _container(OmegaConf.select(multirun, key, default=default)) if multirun is not None else default

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
