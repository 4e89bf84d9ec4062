"""What a sweep varies, read from its command line: the swept keys and their values.

Hydra's basic sweeper crosses every comma-separated override (``activation=relu,sigmoid``) and
every ``hydra.sweeper.params`` entry; Optuna samples its ``params``. :func:`sweep_axes` turns that
into ``{key: [values]}`` (an empty list for a continuous Optuna range), parsed with Hydra's public
override parser. It names the job directories (:func:`job_dir_name`), orders the HPARAMS table and
groups the sweep-level gradient-flow charts.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

MAX_NAME = 80  # longer job dir names are cut and made unique with a hash


def sweep_axes(task_overrides: list[str], params: dict[str, Any] | None = None) -> dict[str, list[str]]:
    """``{swept key: its values}`` in the order the sweep names them (sweeper params first)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    items = [f"{k}={v}" for k, v in (params or {}).items()] + [str(o) for o in task_overrides]
    axes: dict[str, list[str]] = {}
    for override in OverridesParser.create().parse_overrides(items):
        if override.is_sweep_override():
            key = override.get_key_element().lstrip("+~")
            try:
                axes[key] = list(override.sweep_string_iterator())
            except Exception:  # an interval (Optuna): no list of values
                axes[key] = []
    return axes


def axes_of(multirun: Any) -> dict[str, list[str]]:
    """The axes of a multirun config (``<sweep dir>/multirun.yaml`` or the sweep's own config)."""
    task = OmegaConf.select(multirun, "hydra.overrides.task", default=None) or []
    params = OmegaConf.select(multirun, "hydra.sweeper.params", default=None) or {}
    return sweep_axes(list(task), dict(params))


def current_axes() -> dict[str, list[str]] | None:
    """Inside a sweep's job: the sweep's axes (from ``<sweep dir>/multirun.yaml``); None otherwise."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return None
    path = Path(str(HydraConfig.get().sweep.dir)) / "multirun.yaml"
    try:
        return axes_of(OmegaConf.load(path))
    except Exception:  # no multirun.yaml (a report-less Optuna search) or a damaged one
        return None


def job_dir_name(num: Any, override_dirname: Any) -> str:
    """``03_activation=sigmoid,depth=8``: the job number, zero-padded so the dirs sort as the jobs
    ran, then what the job varies (the swept overrides; Hydra's ``override_dirname`` with the
    sweep's constant overrides excluded)."""
    name = ",".join(_short(item) for item in str(override_dirname or "").split(",") if item).replace("/", "_")
    if len(name) > MAX_NAME:
        name = f"{name[: MAX_NAME - 9]}_{hashlib.sha1(name.encode()).hexdigest()[:8]}"
    return f"{int(num):02d}_{name}" if name else f"{int(num):02d}"


def _short(item: str) -> str:
    """``optimizer.lr=0.0012520653814999472`` → ``optimizer.lr=0.001252`` (the exact value is in the
    job's config; the name only has to tell the jobs apart)."""
    key, sep, value = item.partition("=")
    try:
        number = float(value)
    except ValueError:
        return item
    return f"{key}{sep}{number:.4g}" if "." in value or "e" in value.lower() else item


def job_num(dir_name: str) -> int | None:
    """The job number of a job dir named by :func:`job_dir_name` (or a plain number)."""
    head = dir_name.split("_", 1)[0]
    return int(head) if head.isdigit() else None


__all__ = ["MAX_NAME", "axes_of", "current_axes", "job_dir_name", "job_num", "sweep_axes"]
