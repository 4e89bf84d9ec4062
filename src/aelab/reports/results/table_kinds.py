"""The kinds table (``results_kinds.json``): every ``ae=`` kind (plain, denoising, sparse,
contractive, VAE) on the hinton2006 MLP and the conv net, each row measured as the main table's,
with the from-scratch transfer baseline measured once per network (it does not depend on the kind)
and a figure per network of the reconstructions of every kind the table holds."""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Any

import torch

from aelab.ae import KIND_CONFIGS
from aelab.ae.config import AEConfig
from aelab.build import build
from aelab.config import compose, to_config, to_dict
from aelab.errors import AelabError
from aelab.reports.results.measure import Timer, code_encoder, code_metrics, scratch_transfer
from aelab.reports.results.methods import KINDS, NETWORKS, kind_name, kind_overrides, preset_epochs
from aelab.reports.results.render_kinds import KINDS_HEADINGS, kinds_sections
from aelab.reports.results.rows import reconstructions, run_row, save_image_rows
from aelab.reports.results.spec import Context, Row, RunRef, TableSpec
from aelab.runs import load_run

log = logging.getLogger("aelab.results")
BASE_KIND = AEConfig().name  # the kind of a run that names none: its network is the baseline's


def kind_label(kind: str, config: dict[str, Any]) -> str:
    """``denoising (masking, 0.3)``: the kind and its settings, from a run's config (the kind's own
    words: :meth:`aelab.ae.config.AEConfig.describe`)."""
    return str(KIND_CONFIGS[kind].describe(config))


def _start_network(ctx: Context, network: str) -> None:
    """The network's settings, and its from-scratch transfer baseline: the plain kind's architecture,
    freshly built (its weights are re-initialised anyway), whichever kinds are measured now."""
    net = NETWORKS[network]
    ctx.fields.setdefault("network_settings", {})[network] = {
        "label": net.label,
        "preset": net.preset,
        "epochs": net.epochs,
        "preset_epochs": preset_epochs(net.preset),
    }
    s = ctx.settings
    name = kind_name(network, BASE_KIND)
    base = to_config(compose(kind_overrides(network, BASE_KIND, s.quick, s.device, s.extra_overrides)))
    encoder = code_encoder(build(base))
    with Timer(f"[{network}] from-scratch transfer baseline (the architecture of {name})") as t:
        acc = scratch_transfer(encoder, base.model.code_dim, ctx.data, ctx.measure, f"{network} scratch")
    ctx.fields.setdefault("scratch", {})[network] = {"from": name, "accuracy": acc, "time_s": t.seconds}


def _measure(ctx: Context, row: Row, run: RunRef) -> dict[str, Any]:
    """A kind's row: the run's test error (and a VAE's −ELBO), probe, P@k, frozen transfer, and the
    network's scratch baseline."""
    network, kind = row.fields["network"], row.fields["kind"]
    config = to_dict(load_run(run.dir).config)
    out, model = run_row(
        row.method, kind_label(kind, config), run.dir, ctx.data, ctx.measure, ctx.img_dir, ctx.device,
        run.source, run.hardware, epochs_preset=ctx.fields["network_settings"][network]["preset_epochs"], grid=False,
    )  # fmt: skip
    scratch = ctx.fields["scratch"][network]["accuracy"]
    out.update(code_metrics(code_encoder(model), out["code_dim"], ctx.data, ctx.measure, row.method, scratch))
    out["neg_elbo"] = (out.get("test") or {}).get("neg_elbo")
    return out


def _figure(ctx: Context, network: str, rows: list[dict[str, Any]]) -> None:
    """``img/results_kinds_<network>.png``: the test digits, then the reconstructions of each kind
    the table holds for ``network`` (rows measured earlier included, reloaded from their directory)."""
    images = ctx.data.test_x[: ctx.measure.grid_images]
    grid_rows: list[torch.Tensor] = [images.cpu()]
    grid_kinds = []
    for row in rows:
        if row.get("network") != network or row.get("error") or not row.get("run_dir"):
            continue
        try:
            model = load_run(row["run_dir"], device=images.device).model
        except AelabError as err:
            log.warning("[%s] not in the figure: %s", row["method"], err)
            continue
        grid_rows.append(reconstructions(model, images))
        grid_kinds.append(row["kind"])
    if grid_kinds:
        path = save_image_rows(grid_rows, Path(ctx.img_dir) / f"results_kinds_{network}.png")
        figure = {"image": path.name, "kinds": grid_kinds, "label": NETWORKS[network].label}
        ctx.fields.setdefault("figures", {})[network] = figure


def _derive(rows: list[dict[str, Any]], fields: dict[str, Any]) -> dict[str, Any]:
    settings = fields.get("network_settings") or {}
    return {"networks": [n for n in NETWORKS if n in settings], "kinds": list(KINDS)}


def _row(network: str, kind: str) -> Row:
    name = kind_name(network, kind)
    return Row(
        name,
        name,
        kind,
        train=partial(kind_overrides, network, kind),
        folder=f"kinds/{name}",
        group=network,
        fields={"network": network, "kind": kind, "network_label": NETWORKS[network].label},
    )


KINDS_TABLE = TableSpec(
    name="kinds",
    file="results_kinds.json",
    title="Autoencoder kinds on the same networks",
    rows=tuple(_row(network, kind) for network in NETWORKS for kind in KINDS),
    measure=_measure,
    render=kinds_sections,
    headings=KINDS_HEADINGS,
    merged_fields=("network_settings", "scratch", "figures"),
    derive=_derive,
    start_group=_start_network,
    end_group=_figure,
)

__all__ = ["KINDS_TABLE", "kind_label"]
