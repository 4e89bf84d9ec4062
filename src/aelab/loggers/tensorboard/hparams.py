"""TensorBoard's HPARAMS for one run of a sweep: the experiment (its columns and metrics, the same in
every run of a sweep) and this run's session, from the shared table (:mod:`aelab.loggers.hparams`).

What the table shows is what tells the runs apart: a sweep's swept keys (and the columns of a swept
family or kind, blank in the runs of the others), never a column whose value every run shares; a
single run its few defining columns. A whole-number column (``depth``, ``width``, ``epochs``,
``seed``, …) is text with the values as its discrete domain, in the sweep's order, so the parallel
coordinates draw one tick per value ("8", not a continuous 1.0–8.0 axis printed "8.0000").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aelab.config.convert import lookup
from aelab.loggers.hparams import Column, column_of, columns, hparam_dict

HPARAM_METRICS = {  # tag → the short name the table and the parallel coordinates show
    "hparam/val_sq_err_per_image": "val sq_err",  # the best validation value (the checkpoint that is tested)
    "hparam/test_sq_err_per_image": "test sq_err",
    "hparam/test_bce": "test bce",
    "hparam/samples_per_s": "samples/s",
}
DEFINING = ("family", "ae", "activation", "depth")  # a single run's columns, with those its command line sets


@dataclass(frozen=True)
class Shown:
    """One column of the experiment: its name, how TensorBoard types it (float, str or bool), its
    discrete values (empty: any), and whether it differs between the runs."""

    name: str
    type: type
    domain: tuple[Any, ...]
    differs: bool


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _text(kind: type, value: Any) -> str:
    """A value as a text column shows it: a whole number without decimals ("8"), a bool as "true"."""
    if kind is int and _is_number(str(value)):
        return str(int(float(value)))
    return str(value).lower() if kind is bool else str(value)


def _pools(config: dict[str, Any], axes: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    families = axes.get("model") or [config["model"]["family"]]
    kinds = axes.get("ae") or [(config.get("ae") or {}).get("name", "plain")]
    return families, kinds


def shown_columns(config: dict[str, Any], axes: dict[str, list[str]] | None, overrides: dict[str, str]) -> list[Shown]:
    """The experiment's columns for a run of ``config`` in a sweep of ``axes`` (None: a single run
    started with ``overrides``)."""
    families, kinds = _pools(config, axes or {})
    table = columns(families, kinds)
    if axes:
        swept = {column_of(key): values for key, values in axes.items()}
        partial = [n for n, c in table.items() if n not in swept and _differs_by_group(c, axes)]
        return [_shown(n, table.get(n), swept.get(n, []), True) for n in [*swept, *partial]]
    row = hparam_dict(config)
    names = [*DEFINING, *(column_of(key) for key in overrides)]
    names = [n for n in dict.fromkeys(names) if n in table and row.get(n) is not None]
    return [_shown(n, table[n], [row[n]], False) for n in names]


def _differs_by_group(col: Column, axes: dict[str, list[str]]) -> bool:
    """A family's or kind's column where the sweep trains that family or kind beside others."""
    for group in ("model", "ae"):
        pool = {f"{group}={name}" for name in axes.get(group) or []}
        if len(pool) > 1 and pool & col.applies and not pool <= col.applies:
            return True
    return False


def _shown(name: str, col: Column | None, values: list[Any], differs: bool) -> Shown:
    """A column typed for TensorBoard: a float with its values (none: a continuous range, as an
    Optuna search samples it), else text with its values in order (int, bool, str)."""
    kind = col.type if col is not None else str
    if (kind in (int, float) and not values) or (kind is float and all(_is_number(str(v)) for v in values)):
        return Shown(name, float, tuple(float(v) for v in values), differs)
    return Shown(name, str, tuple(dict.fromkeys(_text(kind, v) for v in values)), differs)


def session_row(
    config: dict[str, Any], shown: list[Shown], axes: dict[str, list[str]] | None, overrides: dict[str, str]
) -> dict[str, Any]:
    """This run's value of each shown column, typed as the column is."""
    row = hparam_dict(config)
    table = columns()
    by_column = {column_of(key): key for key in axes or {}}
    values: dict[str, Any] = {}
    for col in shown:
        value = row.get(col.name)
        if value is None and col.name in by_column:  # a swept key that is no column of the table
            key = by_column[col.name]
            found = lookup(config, key)
            value = found if found is not None and not isinstance(found, dict) else overrides.get(key, "")
        if value is None:
            continue
        kind = table[col.name].type if col.name in table else str
        values[col.name] = float(value) if col.type is float else _text(kind, value)
    return values


def experiment_summary(shown: list[Shown]) -> Any:
    """The HPARAMS experiment, the same for every run of a sweep, since TensorBoard takes it from one
    of them: the columns ``shown`` (those that differ are marked so: TensorBoard lists them first),
    each with its discrete values (a discrete axis in the parallel coordinates, a checklist in the
    filter), and the metrics under short names."""
    from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
    from torch.utils.tensorboard.summary import Summary

    types = {float: api_pb2.DATA_TYPE_FLOAT64, str: api_pb2.DATA_TYPE_STRING, bool: api_pb2.DATA_TYPE_BOOL}
    infos = []
    for col in shown:
        info = api_pb2.HParamInfo(name=col.name, type=types[col.type], differs=col.differs)
        info.domain_discrete.extend(list(col.domain))
        infos.append(info)
    metrics = [
        api_pb2.MetricInfo(name=api_pb2.MetricName(tag=tag), display_name=short)
        for tag, short in HPARAM_METRICS.items()
    ]
    experiment = api_pb2.Experiment(hparam_infos=infos, metric_infos=metrics)
    content = plugin_data_pb2.HParamsPluginData(experiment=experiment, version=metadata.PLUGIN_DATA_VERSION)
    meta = metadata.create_summary_metadata(content)
    return Summary(value=[Summary.Value(tag=metadata.EXPERIMENT_TAG, metadata=meta)])


__all__ = ["DEFINING", "HPARAM_METRICS", "Shown", "experiment_summary", "session_row", "shown_columns"]
