"""Is the run in a job dir the sweep's job? Its recorded config against the config the sweep gives
that job, on the keys that define a run (all but :func:`aelab.config.volatile`).

The sweep's config is the one it recorded (``multirun.yaml``: composed with its constant overrides,
so a later change of aelab's defaults does not make its jobs look foreign) with the job's swept
values set. A swept config group (``ae=plain,vae``) changes more than one key (``ae=vae`` also
chooses ``loss=bce``): what it changes is what composing the job's overrides changes against
composing the sweep's constant ones. Keys one side lacks (a run from before a key existed) are not
compared; a config that cannot be told (it does not compose) is not judged.
"""

from __future__ import annotations

import importlib.resources
from functools import lru_cache
from typing import Any

from omegaconf import OmegaConf

from aelab.config import CONF_PACKAGE, override_key, volatile


def _leaves(values: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(values, dict):
        return {prefix.rstrip("."): values}
    out: dict[str, Any] = {}
    for key, value in values.items():
        out.update(_leaves(value, f"{prefix}{key}."))
    return out


def _defines_run(key: str) -> bool:
    return not any(key == vol or key.startswith(vol + ".") for vol in volatile())


def _is_group(key: str) -> bool:
    """``ae``, ``model``, ``experiment``: a config group of aelab's conf (chosen by name)."""
    return importlib.resources.files(CONF_PACKAGE).joinpath(key).is_dir()


@lru_cache(maxsize=256)
def _composed(overrides: tuple[str, ...]) -> dict[str, Any] | None:
    """The resolved task config of ``overrides``, as aelab-train composes it (None if it does not)."""
    try:
        from hydra import compose
        from hydra.core.global_hydra import GlobalHydra

        if GlobalHydra.instance().is_initialized():  # inside the sweep's own process (its report callback)
            cfg = compose(config_name="config", overrides=list(overrides))
        else:
            from aelab.config import compose as aelab_compose

            cfg = aelab_compose(list(overrides))
        values = OmegaConf.to_container(cfg, resolve=True)
    except Exception:  # an override this version of aelab does not know: the config cannot be told
        return None
    return {str(k): v for k, v in values.items()} if isinstance(values, dict) else None


def _parsed(overrides: list[str]) -> dict[str, Any]:
    """``{key: typed value}`` of plain overrides (``+``/``~`` prefixes dropped, deletions skipped)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    out: dict[str, Any] = {}
    for override in OverridesParser.create().parse_overrides(overrides):
        if not override.is_delete():
            out[override.key_or_group.lstrip("+~")] = override.value()
    return out


def expected_config(base: dict[str, Any] | None, overrides: list[str], swept: list[str]) -> dict[str, Any] | None:
    """The config's leaves (``{dotted key: value}``) the sweep gives the job of ``overrides``:
    ``base`` (multirun.yaml's task config; None: unknown, then only the job's own plain overrides)
    with the job's values of the ``swept`` keys. None when it cannot be told."""
    try:
        values = _parsed(overrides)
    except Exception:
        return None
    swept_values = {k: v for k, v in values.items() if k in swept or base is None}
    groups = [k for k in swept_values if _is_group(k)]
    if base is None:
        return {k: v for k, v in swept_values.items() if k not in groups and not k.startswith("hydra")}
    cfg = OmegaConf.create(base)
    for key, value in swept_values.items():
        if key not in groups:
            OmegaConf.update(cfg, key, value, merge=False, force_add=True)
    try:
        expected = _leaves(OmegaConf.to_container(cfg, resolve=True))
    except Exception:  # an interpolation this process cannot resolve
        return None
    if groups:
        constant = tuple(o for o in overrides if override_key(o) not in swept)
        job, common = _composed(tuple(overrides)), _composed(constant)
        if job is None or common is None:
            return None
        job_leaves, common_leaves = _leaves(job), _leaves(common)
        for key in set(job_leaves) | set(common_leaves):  # what the swept groups change
            if key not in job_leaves:
                expected.pop(key, None)
            elif job_leaves[key] != common_leaves.get(key, object()):
                expected[key] = job_leaves[key]
    return expected


def mismatches(recorded: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """``key: value there vs value in the sweep`` for every key that defines a run, present on both
    sides, whose values differ."""
    there = _leaves(recorded)
    return [
        f"{key}: {there[key]!r} there vs {expected[key]!r} in the sweep"
        for key in sorted(set(there) & set(expected))
        if _defines_run(key) and there[key] != expected[key]
    ]


__all__ = ["expected_config", "mismatches"]
