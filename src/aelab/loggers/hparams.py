"""The HPARAMS table every tracking logger shows (TensorBoard's HPARAMS, MLflow's params): one column
per key declared with ``hparam=``, read from the declarations, so a family or a kind that declares
a column gets it with no edit here. Nothing here imports torch."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aelab.config.convert import lookup, override_key
from aelab.config.reference import rows


@dataclass(frozen=True)
class Column:
    name: str
    path: str  # the dotted key it shows
    type: type  # int, float, str or bool
    none: str | None  # what the column shows for None (data.limit: "all"); None: a blank
    applies: frozenset[str]  # "model=conv", "ae=sparse": where it applies (empty: every run)


def columns(families: Iterable[str] | None = None, kinds: Iterable[str] | None = None) -> dict[str, Column]:
    """The columns, in the schema's order; with ``families``/``kinds``, only the columns of those
    (a column two kinds declare, such as ``ae_weight``, applies to both)."""
    found: dict[str, Column] = {}
    for row in rows():
        name = row.spec.hparam
        if name is None:
            continue
        kind = {"bool": bool, "int": int, "float": float}.get(row.type, str)
        applies = frozenset([row.applies]) if row.applies else frozenset()
        if name in found:
            applies = found[name].applies | applies if found[name].applies and applies else frozenset()
        found[name] = Column(name, row.key, kind, row.spec.hparam_none, applies)
    pools = {"model": None if families is None else set(families), "ae": None if kinds is None else set(kinds)}
    return {name: col for name, col in found.items() if _wanted(col, pools)}


def _wanted(col: Column, pools: dict[str, set[str] | None]) -> bool:
    """A column of every run, or of a family / kind in its pool (None: every family / kind)."""
    if not col.applies:
        return True
    for where in col.applies:
        group, _, name = where.partition("=")
        pool = pools[group]
        if pool is None or name in pool:
            return True
    return False


def _applies(col: Column, config: dict[str, Any]) -> bool:
    if not col.applies:
        return True
    here = {f"model={lookup(config, 'model.family')}", f"ae={lookup(config, 'ae.name')}"}
    return bool(col.applies & here)


def hparam_dict(config: dict[str, Any], fill: bool = False) -> dict[str, Any]:
    """The run's HPARAMS row from its plain config: every column, None where it does not apply
    (``fill``: a typed placeholder instead, for the experiment's column list)."""
    row: dict[str, Any] = {}
    for name, col in columns().items():
        value = lookup(config, col.path) if _applies(col, config) else None
        if value is None and col.none is not None and _applies(col, config):
            value = col.none
        elif isinstance(value, list):
            value = "-".join(str(v) for v in value)
        elif value is not None:
            value = col.type(value)
        if value is None and fill:
            value = col.type()
        row[name] = value
    return row


def column_of(key: str) -> str:
    """The column that shows a swept key (a config group by its chosen name: ``model`` → family)."""
    by_path = {col.path: name for name, col in columns().items()}
    groups = {"model": "model.family", "ae": "ae.name", "data": "data.name", "optimizer": "optimizer.name"}
    groups.update({"loss": "loss.name", "pretrain": "pretrain.name"})
    return by_path.get(groups.get(key, key), by_path.get(f"model.{key}", key))


def session_values(config: dict[str, Any], axes: dict[str, list[str]] | None, overrides: dict[str, str]) -> dict:
    """This run's HPARAMS row: its values of the columns, and of the swept keys outside them."""
    row = {k: v for k, v in hparam_dict(config).items() if v is not None}
    for key in axes or {}:
        column = column_of(key)
        if column not in row:
            value = lookup(config, key)
            row[column] = str(value if value is not None else overrides.get(key, ""))
    return row


def task_overrides() -> dict[str, str]:
    """``{key: value}`` of the overrides this job was started with (empty outside Hydra)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return {}
    return {override_key(o): o.split("=", 1)[1] for o in HydraConfig.get().overrides.task if "=" in o}


__all__ = ["Column", "column_of", "columns", "hparam_dict", "session_values", "task_overrides"]
