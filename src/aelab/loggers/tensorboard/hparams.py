"""TensorBoard's HPARAMS for one run of a sweep: the experiment (its columns and metrics, the same in
every run of a sweep) and this run's session, from the shared table (:mod:`aelab.loggers.hparams`)."""

from __future__ import annotations

from typing import Any

from aelab.loggers.hparams import column_of, columns

HPARAM_METRICS = (
    "hparam/val_sq_err_per_image",  # the best validation value (the checkpoint that is tested)
    "hparam/test_sq_err_per_image",
    "hparam/test_bce",
    "hparam/samples_per_s",
)


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def experiment_summary(config: dict[str, Any], axes: dict[str, list[str]] | None) -> Any:
    """The HPARAMS experiment, the same for every run of a sweep, since TensorBoard takes it from one
    of them: the swept keys are marked as differing (TensorBoard lists those first and shows them),
    with the swept values as a discrete domain (a discrete axis in the parallel coordinates, a
    checklist in the filter); columns of families and kinds the sweep does not train are left out."""
    from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
    from torch.utils.tensorboard.summary import Summary

    axes = axes or {}
    families = axes.get("model") or [config["model"]["family"]]
    kinds = axes.get("ae") or [(config.get("ae") or {}).get("name", "plain")]
    types = {float: api_pb2.DATA_TYPE_FLOAT64, str: api_pb2.DATA_TYPE_STRING, bool: api_pb2.DATA_TYPE_BOOL}
    kinds_of = {name: col.type for name, col in columns(families, kinds).items()}
    swept = {column_of(key): values for key, values in axes.items()}
    kinds_of.update({c: str for c in swept if c not in kinds_of})
    infos = []
    for column, kind in kinds_of.items():
        info = api_pb2.HParamInfo(name=column, type=types[kind], differs=column in swept)
        values = swept.get(column) or []
        if values:
            number = kind is float and all(_is_number(v) for v in values)
            info.type = api_pb2.DATA_TYPE_FLOAT64 if number else api_pb2.DATA_TYPE_STRING
            info.domain_discrete.extend([float(v) if number else str(v) for v in values])
        infos.append(info)
    experiment = api_pb2.Experiment(
        hparam_infos=infos,
        metric_infos=[api_pb2.MetricInfo(name=api_pb2.MetricName(tag=tag)) for tag in HPARAM_METRICS],
    )
    content = plugin_data_pb2.HParamsPluginData(experiment=experiment, version=metadata.PLUGIN_DATA_VERSION)
    meta = metadata.create_summary_metadata(content)
    return Summary(value=[Summary.Value(tag=metadata.EXPERIMENT_TAG, metadata=meta)])


__all__ = ["HPARAM_METRICS", "experiment_summary"]
