"""The pretraining table (``results_pretraining.json``): the logistic hinton2006 net without and
with layer-wise pretraining next to the ReLU net, each with its test error, the per-layer ‖∂E/∂W‖
at the start of end-to-end training (after any pretraining), their first/last ratio and its
pretraining time."""

from __future__ import annotations

from functools import partial
from typing import Any

from aelab.config import to_dict
from aelab.gradflow import first_last_ratio
from aelab.reports.results.methods import PRETRAINING, preset_epochs, pretrain_overrides
from aelab.reports.results.render_pretraining import PRETRAINING_HEADINGS, pretraining_sections
from aelab.reports.results.rows import run_row
from aelab.reports.results.spec import Context, Row, RunRef, TableSpec
from aelab.runs import load_run


def _measure(ctx: Context, row: Row, run: RunRef) -> dict[str, Any]:
    """A row: the run's test error and grid, its ‖∂E/∂W‖ at the start of end-to-end training
    (metrics.json's ``grad_norms_init``) and ratio first/last = ‖∂E/∂W₁‖ / ‖∂E/∂W_L‖, its
    pretraining stages and their time."""
    loaded = load_run(run.dir)
    config, metrics = to_dict(loaded.config), run.metrics or loaded.metrics
    spec = PRETRAINING[row.fields["name"]]
    preset = next(o.split("=", 1)[1] for o in spec.overrides if o.startswith("experiment="))
    out, _ = run_row(
        row.method, row.label, run.dir, ctx.data, ctx.measure, ctx.img_dir, ctx.device, run.source, run.hardware,
        epochs_preset=preset_epochs(preset),
    )  # fmt: skip
    norms = metrics.get("grad_norms_init") or {}
    stages = (metrics.get("pretrain") or {}).get("stages") or []
    out.update(
        activation=config.get("activation"),
        pretraining=config["pretrain"]["name"],
        epochs_per_layer=config["pretrain"]["epochs_per_layer"] if stages else None,
        pretrain_stages=[{"layer": s["layer"], "time_s": s["time_s"], "losses": s["losses"]} for s in stages],
        pretrain_time_s=sum(float(s["time_s"]) for s in stages) if stages else None,
        train_time_s=metrics.get("train_time_s"),
        grad_norms_init=norms,
        grad_ratio=first_last_ratio(norms),
    )
    return out


PRETRAINING_TABLE = TableSpec(
    name="pretraining",
    file="results_pretraining.json",
    title="Layer-wise pretraining and the gradient at the start of training",
    rows=tuple(
        Row(
            name,
            f"pretraining_{name}",
            spec.label,
            train=partial(pretrain_overrides, name),
            folder=f"pretraining/{name}",
            fields={"name": name},
        )
        for name, spec in PRETRAINING.items()
    ),
    measure=_measure,
    render=pretraining_sections,
    headings=PRETRAINING_HEADINGS,
)

__all__ = ["PRETRAINING_TABLE"]
