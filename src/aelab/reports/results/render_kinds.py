"""The kinds table's sections of RESULTS.md: a row per (network, kind) with the test −ELBO on the
VAE rows only, the best kind per network, how it was measured, a figure of reconstructions per
network."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aelab.reports.render import Bullets, Image, Para, Section, Table
from aelab.reports.results.format import (
    N_TRAIN,
    epochs_cell,
    fmt,
    fmt_duration,
    generated,
    label_cell,
    label_key,
    n_of,
    plural,
    transfer_cell,
    transfer_keys,
)

KINDS_TITLE = "Autoencoder kinds"
KINDS_HEADINGS = (KINDS_TITLE, f"{KINDS_TITLE}: how it was measured", f"{KINDS_TITLE}: reconstructions")


def _best(rows: list[dict[str, Any]], value: Callable[[dict[str, Any]], Any], lowest: bool = False) -> str:
    """``denoising (0.934)``: the row with the best ``value(row)`` (ties listed), or "—"."""
    scored = [(value(r), r) for r in rows]
    scored = [(v, r) for v, r in scored if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not scored:
        return "—"
    best = min(v for v, _ in scored) if lowest else max(v for v, _ in scored)
    names = [r.get("kind") or r["label"] for v, r in scored if v == best]
    return f"{', '.join(names)} ({best:.3f})" if not lowest else f"{', '.join(names)} ({best:.2f})"


def _table(results: dict[str, Any]) -> Table:
    s, rows, k = results["settings"], results["rows"], results["settings"]["k"]
    keys = transfer_keys(s)
    head = [
        "Network",
        "Kind",
        "Test sq. err. / image",
        "Test −ELBO (nats)",
        "Linear probe acc.",
        f"P@{k}",
        *[f"Transfer {label_key(key)} labels (frozen / scratch)" for key in keys],
        "Epochs",
        "Wall time",
        "Hardware",
    ]
    cells = []
    for r in rows:
        test, transfer = r.get("test") or {}, r.get("transfer") or {}
        elbo = r.get("neg_elbo")  # a kind whose evaluation gives one (ae=vae)
        cells.append(
            [
                r.get("network_label") or r.get("network"),
                label_cell(r),
                fmt(test.get("sq_err_per_image"), 2),
                fmt(elbo, 1),
                fmt(r.get("linear_probe_acc")),
                fmt(r.get(f"p_at_{k}")),
                *[transfer_cell(transfer, key) for key in keys],
                epochs_cell(r),
                fmt_duration(r.get("wall_time_s")),
                r.get("hardware") or "—",
            ]
        )
    return Table(head, cells, [False, False] + [True] * (len(head) - 3) + [False])


def _best_per_network(results: dict[str, Any]) -> list[str]:
    rows, k, first = results["rows"], results["settings"]["k"], transfer_keys(results["settings"])[0]
    best = []
    for network in results.get("networks", []):
        ok = [r for r in rows if r.get("network") == network and not r.get("error")]
        if not ok:
            continue
        best.append(
            f"**{ok[0].get('network_label') or network}** — lowest test error: "
            f"{_best(ok, lambda r: (r.get('test') or {}).get('sq_err_per_image'), lowest=True)}; "
            f"linear probe: {_best(ok, lambda r: r.get('linear_probe_acc'))}; "
            f"P@{k}: {_best(ok, lambda r: r.get(f'p_at_{k}'))}; "
            f"frozen transfer, {label_key(first)} labels: "
            f"{_best(ok, lambda r: ((r.get('transfer') or {}).get(first) or {}).get('frozen'))}."
        )
    return best


def _figures_section(results: dict[str, Any], img_dir: Path) -> Section | None:
    figures = results.get("figures") or {}
    if not figures:
        return None
    blocks: list[Any] = [
        Para(
            f"The first {results['settings']['grid_images']} test digits (top row), then each kind's "
            "reconstructions, one row per kind in the order given (a VAE decodes its μ)."
        )
    ]
    for network, fig in figures.items():
        text = f"**{fig.get('label') or network}** — rows: test digits, {', '.join(fig['kinds'])}"
        blocks += [Para(text), Image(img_dir / fig["image"], f"{fig.get('label') or network}: reconstructions")]
    return Section(KINDS_HEADINGS[2], blocks)


def kinds_sections(results: dict[str, Any], img_dir: Path) -> list[Section]:
    """The kinds table: a row per (network, kind), the test −ELBO on the VAE rows only; which kind
    is best per network; how it was measured; a figure of reconstructions per network."""
    blocks: list[Any] = generated(results)
    blocks.append(_table(results))
    best = _best_per_network(results)
    if best:
        blocks += [Para("Best per network (from the table):"), Bullets(best)]
    sections = [Section(KINDS_TITLE, blocks), kinds_method_section(results)]
    figures = _figures_section(results, img_dir)
    return sections if figures is None else [*sections, figures]


def kinds_method_section(results: dict[str, Any]) -> Section:
    s, k = results["settings"], results["settings"]["k"]
    nets = []
    for network, info in (results.get("network_settings") or {}).items():
        epochs = sorted({r.get("epochs_planned") for r in results["rows"] if r.get("network") == network} - {None})
        nets.append(
            f"`experiment={info['preset']}` ({info['label']}) trained for {plural(epochs, info['epochs'], 'epochs')} "
            f"instead of the preset's {info.get('preset_epochs') or '?'} (its one-cycle schedule over those epochs)"
        )
    steps = f"max({s['transfer_min_steps']}, {s['transfer_epochs']} epochs) steps of batch 128"
    scratch_steps = (
        f", max({s['transfer_scratch_min_steps']}, {s['transfer_epochs']} epochs) steps"
        if s.get("transfer_scratch_min_steps") is not None
        else ""
    )
    scratch_from = ", ".join(
        f"{network}: the architecture of `{info['from']}`, {fmt_duration(info.get('time_s'))}"
        for network, info in (results.get("scratch") or {}).items()
    )
    return Section(
        KINDS_HEADINGS[1],
        [
            Bullets(
                [
                    "**Networks**: " + "; ".join(nets) + ". Every kind trains the same network with the same "
                    "optimizer, schedule, augmentation and epochs; only the objective changes (`ae=<kind>` with "
                    "the defaults of `conf/ae/<kind>.yaml`). *sparse* gets logistic code units "
                    "(`model.code_activation=sigmoid`: hinton2006 sets linear ones, which would override "
                    "`ae=sparse`'s), so its mean activations are firing rates for the KL penalty. The reduced "
                    "epochs are a CPU budget: the errors are higher than the main table's fully trained nets.",
                    "**Code**: `model.encode(x)` on clean images — a VAE's μ (not a sample), a denoising "
                    "autoencoder's code of the uncorrupted image.",
                    f"**Test sq. err. / image** (best-validation checkpoint, {n_of(s['test_images'], 10_000)} test "
                    "images), **linear probe** "
                    f"({n_of(s['probe_train'], N_TRAIN)} training codes → {n_of(s['probe_test'], 10_000)} test), "
                    f"**P@{k}** ({n_of(s['queries'], 10_000)} test queries among "
                    f"{n_of(s['database'], 60_000)} training codes): as in the main table.",
                    "**Test −ELBO** (VAE only): −log p(x|z) (Bernoulli pixels, BCE summed over the 784 pixels) + "
                    "KL(q(z|x) ‖ N(0, I)), one z per image from a fixed seed, nats per test image; the other kinds "
                    "are not density models (—).",
                    f"**Transfer**: a linear head on the code, trained with Adam on n class-balanced labels "
                    f"({steps}): *frozen* = this kind's encoder fixed. *scratch* = the same architecture freshly "
                    f"initialised and trained with the head{scratch_steps} — it does not depend on the kind (no "
                    "trained weight is used), so it is measured **once per network** and repeated in each of its "
                    f"rows ({scratch_from}; the sparse net's logistic code units are not re-measured). Accuracy on "
                    f"{n_of(s['transfer_test'], 10_000)} test images.",
                    "**Epochs**: completed (of planned), with the preset's number; **Wall time**: the run's training "
                    "time (metrics.json, with its per-epoch validation); **Hardware**: where it was trained.",
                ]
            )
        ],
    )


__all__ = ["KINDS_HEADINGS", "KINDS_TITLE", "kinds_method_section", "kinds_sections"]
