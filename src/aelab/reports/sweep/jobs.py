"""One job dir of a sweep: its number, overrides (``.hydra/overrides.yaml``), record
(:mod:`.record`) and status."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from aelab.config import override_key, volatile
from aelab.config.sweep import job_num
from aelab.reports.sweep.record import read_record
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
    problem: str | None = None  # a file of the job dir that could not be read, named

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


def what_it_trains(overrides: list[str]) -> dict[str, str]:
    """The overrides that decide what a job trains (not where or how it runs, nor how it reports)."""
    return {
        k: v
        for k, v in override_dict(overrides).items()
        if not any(k == vol or k.startswith(vol + ".") for vol in volatile())
    }


def override_dict(overrides: list[str]) -> dict[str, str]:
    return {override_key(o): o.split("=", 1)[1] for o in overrides if "=" in o}


def load_yaml(path: Path) -> Any:
    try:
        return OmegaConf.load(path)
    except Exception:  # a half-written or foreign file: treated as absent
        return None


def container(node: Any, resolve: bool = False) -> Any:
    if node is None or not OmegaConf.is_config(node):
        return node
    try:
        return OmegaConf.to_container(node, resolve=resolve)
    except Exception:
        return OmegaConf.to_container(node, resolve=False)


def job_number(path: Path) -> int | None:
    named = job_num(path.name)  # 03_activation=sigmoid,depth=8 (or a plain 3)
    if named is not None:
        return named
    hydra_cfg = load_yaml(path / ".hydra" / "hydra.yaml")
    num = OmegaConf.select(hydra_cfg, "hydra.job.num", default=None) if hydra_cfg is not None else None
    return int(num) if num is not None else None


def read_job(path: Path, num: int) -> Job:
    overrides = container(load_yaml(path / ".hydra" / "overrides.yaml")) or []
    overrides = [str(o) for o in overrides] if isinstance(overrides, list) else []
    record = read_record(path)
    job = Job(num, path, "crashed", overrides, record.metrics, record.config, problem=record.problem)
    if record.metrics is None:
        job.error = record.problem or NO_METRICS
        return job
    job.status = str(record.metrics.get("status") or "running")
    job.error = record.metrics.get("error")
    if job.status not in FINAL:
        alive = RunDir(path).holder() is not None
        job.status, job.error = ("running", job.error) if alive else ("crashed", KILLED)
    return job


__all__ = [
    "FINAL",
    "KILLED",
    "NO_METRICS",
    "Job",
    "container",
    "job_number",
    "load_yaml",
    "override_dict",
    "read_job",
    "what_it_trains",
]
