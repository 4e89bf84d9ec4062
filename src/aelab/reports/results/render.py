"""RESULTS.md from the results dicts (the same that the JSON files hold), through the renderer every
aelab report uses (:mod:`aelab.reports.render`).

The document is three tables' sections, in this order: the main table (:func:`render_markdown`,
``results.json``), the kinds table (:func:`kinds_sections`, ``results_kinds.json``) and the
pretraining table (:func:`pretraining_sections`, ``results_pretraining.json``).
:func:`render_document` renders each from its JSON file and keeps, for a table without one, its
sections of the document already there — so producing one table never drops or changes another.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from aelab.errors import CorruptFileError
from aelab.reports.render import Bullets, Image, Para, Section, Table
from aelab.reports.render import render_markdown as render_sections
from aelab.reports.results.methods import METHODS

N_TRAIN = 55_000
TABLE_FILES = {"main": "results.json", "kinds": "results_kinds.json", "pretraining": "results_pretraining.json"}
MAIN_TITLE = "30-d codes of MNIST: reconstruction, linear probe, retrieval and transfer"
KINDS_TITLE = "Autoencoder kinds"
PRETRAINING_TITLE = "Pretraining and the gradient at the start of training"
# Each added table's sections (## headings); whatever precedes the first of them is the main table's.
SECTION_TITLES = {
    "kinds": (KINDS_TITLE, f"{KINDS_TITLE}: how it was measured", f"{KINDS_TITLE}: reconstructions"),
    "pretraining": (PRETRAINING_TITLE, "Pretraining: how it was measured", "Pretraining: reconstructions"),
}


def fmt(x: float | None, digits: int = 3) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 1 else f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _epochs(row: dict[str, Any]) -> str:
    """``60``, ``12 of 60 (running)``, ``2 (5,000 imgs; preset 60)``."""
    done, planned, status = row.get("epochs"), row.get("epochs_planned"), row.get("status")
    if isinstance(done, str) or done is None:
        return done or "—"
    text = f"{done}" if planned in (None, done) else f"{done} of {planned}"
    notes = [status] if status and status != "completed" else []
    limit = row.get("train_images")
    if limit is not None and limit < N_TRAIN:
        notes.append(f"{limit:,} imgs")
    preset = row.get("epochs_preset")
    if preset is not None and preset != (planned if planned is not None else done):
        notes.append(f"preset {preset}")
    return text + (f" ({'; '.join(notes)})" if notes else "")


def _label_key(key: str) -> str:
    return "all" if key == "all" else f"{int(key):,}"


def table_section(results: dict[str, Any]) -> Section:
    s, rows, k = results["settings"], results["rows"], results["settings"]["k"]
    keys = ["all" if n is None else str(n) for n in s["transfer_labels"]]
    head = [
        "Method",
        "Code dim",
        "Test sq. err. / image",
        "Linear probe acc.",
        f"P@{k}",
        *[f"Transfer {_label_key(key)} labels (frozen / scratch)" for key in keys],
        "Epochs",
        "Wall time",
        "Hardware",
    ]
    cells, footnotes = [], []
    for r in rows:
        test, transfer = r.get("test") or {}, r.get("transfer") or {}
        hardware = r.get("hardware") or "—"
        if r.get("hardware_recorded") is False:  # a row of a run that did not record it (results.json)
            hardware += " ¹"
            footnotes = [
                "¹ Not recorded by the run; inferred from its train.log (a CPU run is assumed to have "
                "been on this host)."
            ]
        cells.append(
            [
                r["label"] if not r.get("error") else f"{r['label']} — **failed**: {r['error']}",
                str(r["code_dim"]),
                fmt(test.get("sq_err_per_image"), 2),
                fmt(r.get("linear_probe_acc")),
                fmt(r.get(f"p_at_{k}")),
                *[
                    (f"{fmt(transfer[key]['frozen'])} / {fmt(transfer[key]['scratch'])}" if key in transfer else "—")
                    for key in keys
                ],
                _epochs(r),
                fmt_duration(r.get("wall_time_s")),
                hardware,
            ]
        )
    blocks = _generated(results, "the probe, retrieval and transfer")
    blocks.append(Table(head, cells, [False] + [True] * (len(head) - 2) + [False]))
    blocks += [Para(note) for note in footnotes]
    missing = [m for m in METHODS if m not in results.get("methods", METHODS)]
    if missing:
        blocks.append(
            Para(
                f"Not in this table: {', '.join(missing)} (train it where it is fast and add it with "
                f"`--runs {missing[0]}=RUN_DIR`)."
            )
        )
    return Section("Results", blocks)


def method_section(s: dict[str, Any]) -> Section:
    def n(value: int | None, total: int) -> str:
        return f"{total:,}" if value is None else f"{min(value, total):,}"

    k = s["k"]
    scratch = (
        f" (max({s['transfer_scratch_min_steps']}, {s['transfer_epochs']} epochs) steps)"
        if s.get("transfer_scratch_min_steps") is not None
        else ""
    )
    steps = f"max({s['transfer_min_steps']}, {s['transfer_epochs']} epochs) steps of batch 128"
    return Section(
        "How it was measured",
        [
            Bullets(
                [
                    f"**Test sq. err. / image**: Σ over the 784 pixels of (x̂ − x)², pixels in [0, 1], averaged "
                    f"over {n(s['test_images'], 10_000)} MNIST test images (Hinton & Salakhutdinov 2006: 3.00 deep "
                    "AE, 8.01 logistic PCA, 13.87 PCA). Autoencoders: their best-validation checkpoint.",
                    f"**Linear probe**: codes of {n(s['probe_train'], N_TRAIN)} training images → standardised → "
                    "multinomial logistic regression (L-BFGS) → accuracy on "
                    f"{n(s['probe_test'], 10_000)} test images.",
                    f"**P@{k}**: for {n(s['queries'], 10_000)} test queries, the share of their {k} nearest "
                    f"(Euclidean) codes among {n(s['database'], 60_000)} training images (train + validation) that "
                    "share the label; *Pixels* searches the raw 784 pixels.",
                    "**Transfer**: a linear head on the encoder's code, trained with Adam on a class-balanced set "
                    f"of n training labels ({steps}): *frozen* = the trained encoder fixed, only the head learns; "
                    "*scratch* = the same architecture freshly initialised and trained with the head"
                    f"{scratch}. Accuracy on {n(s['transfer_test'], 10_000)} test images. PCA's scratch baseline "
                    "is a linear 784→30 layer.",
                    "**PCA-30** is fitted on all 60,000 training images (train + validation). **Epochs**: "
                    "completed (of planned) training epochs, with the experiment preset's where the run used "
                    'another number; "imgs" = a reduced training set. **Wall time**: training time from the '
                    "run's metrics.json (PCA: the fit). **Hardware**: where it was trained.",
                ]
            )
        ],
    )


def checks_section(results: dict[str, Any]) -> Section | None:
    checks = results.get("checks") or {}
    if not checks:
        return None
    items = []
    if "pca_vs_published" in checks:
        c = checks["pca_vs_published"]
        items.append(f"PCA-30: {c['ours']:.3f} vs the published {c['published']:.2f} (difference {c['diff']:+.3f}).")
    if "linear_vs_pca" in checks:
        c = checks["linear_vs_pca"]
        items.append(
            f"Linear AE / PCA error: {c['ratio']:.3f} — "
            + ("within 2% of PCA." if c["within_2pct"] else "**not** within 2% of PCA (train longer).")
        )
    return Section("Checks", [Bullets(items)])


def grids_section(results: dict[str, Any], img_dir: Path) -> Section | None:
    grids = [r for r in results["rows"] if r.get("grid")]
    if not grids:
        return None
    blocks: list[Any] = [
        Para(
            f"The first {results['settings']['grid_images']} test digits (top row) and each "
            "method's reconstructions (bottom row)."
        )
    ]
    for r in grids:
        blocks += [Para(f"**{r['label']}**"), Image(img_dir / r["grid"], r["label"])]
    return Section("Reconstructions", blocks)


def render_markdown(results: dict[str, Any], base: Path = Path(".")) -> str:
    """RESULTS.md, its images linked relative to ``base`` (the folder it is written to, with img/)."""
    sections = [
        table_section(results),
        method_section(results["settings"]),
        checks_section(results),
        grids_section(results, base / "img"),
    ]
    return render_sections(results["title"], [s for s in sections if s is not None], base)


def _generated_line(results: dict[str, Any]) -> str:
    """ "Generated <when> by `command` (…)", and the earlier commands whose rows the table kept."""
    said = "thread" in str(results.get("host"))  # the host line already gives the thread count
    threads = f", torch threads: {results['torch_threads']}" if results.get("torch_threads") and not said else ""
    line = (
        f"Generated {results['created']} by `{results.get('command') or 'aelab.reports.results'}` "
        f"(torch {results['torch']}, measured on {results['host']}{threads}, "
        f"{fmt_duration(results['total_time_s'])} in all)."
    )
    earlier: dict[tuple[str, str], list[str]] = {}
    for r in results["rows"]:
        measured = r.get("measured") or {}
        if measured and measured.get("created") != results["created"]:
            earlier.setdefault((measured.get("created") or "?", measured.get("command") or "?"), []).append(r["method"])
    for (created, command), methods in sorted(earlier.items()):
        line += f" Kept from {created} (`{command}`): {', '.join(methods)}."
    return line


def _generated(results: dict[str, Any], measured: str = "the measurements") -> list[Any]:
    """The "Generated … by `command`" line (after a quick-run warning: subsets for ``measured``)."""
    blocks: list[Any] = []
    if results["mode"] == "quick":
        blocks.append(
            Para(
                f"**Quick smoke run** (`--quick`): tiny trainings, subsets for {measured}. The numbers "
                "check the pipeline, not the methods."
            )
        )
    blocks.append(Para(_generated_line(results)))
    return blocks


def _transfer_keys(settings: dict[str, Any]) -> list[str]:
    return ["all" if n is None else str(n) for n in settings["transfer_labels"]]


def _best(rows: list[dict[str, Any]], value: Any, lowest: bool = False) -> str:
    """``denoising (0.934)``: the row with the best ``value(row)`` (ties listed), or "—"."""
    scored = [(value(r), r) for r in rows]
    scored = [(v, r) for v, r in scored if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not scored:
        return "—"
    best = min(v for v, _ in scored) if lowest else max(v for v, _ in scored)
    names = [r.get("kind") or r["label"] for v, r in scored if v == best]
    return f"{', '.join(names)} ({best:.3f})" if not lowest else f"{', '.join(names)} ({best:.2f})"


def kinds_sections(results: dict[str, Any], img_dir: Path) -> list[Section]:
    """The kinds table: a row per (network, kind), the test −ELBO on the VAE rows only; which kind
    is best per network; how it was measured; a figure of reconstructions per network."""
    s, rows, k = results["settings"], results["rows"], results["settings"]["k"]
    keys = _transfer_keys(s)
    head = [
        "Network",
        "Kind",
        "Test sq. err. / image",
        "Test −ELBO (nats)",
        "Linear probe acc.",
        f"P@{k}",
        *[f"Transfer {_label_key(key)} labels (frozen / scratch)" for key in keys],
        "Epochs",
        "Wall time",
        "Hardware",
    ]
    cells = []
    for r in rows:
        test, transfer = r.get("test") or {}, r.get("transfer") or {}
        elbo = r.get("neg_elbo") if r.get("kind") == "vae" else None
        cells.append(
            [
                r.get("network_label") or r.get("network"),
                r["label"] if not r.get("error") else f"{r['label']} — **failed**: {r['error']}",
                fmt(test.get("sq_err_per_image"), 2),
                fmt(elbo, 1),
                fmt(r.get("linear_probe_acc")),
                fmt(r.get(f"p_at_{k}")),
                *[
                    (f"{fmt(transfer[key]['frozen'])} / {fmt(transfer[key]['scratch'])}" if key in transfer else "—")
                    for key in keys
                ],
                _epochs(r),
                fmt_duration(r.get("wall_time_s")),
                r.get("hardware") or "—",
            ]
        )
    blocks: list[Any] = _generated(results)
    blocks.append(Table(head, cells, [False, False] + [True] * (len(head) - 3) + [False]))
    best = []
    for network in results.get("networks", []):
        ok = [r for r in rows if r.get("network") == network and not r.get("error")]
        if not ok:
            continue
        first = keys[0]
        best.append(
            f"**{ok[0].get('network_label') or network}** — lowest test error: "
            f"{_best(ok, lambda r: (r.get('test') or {}).get('sq_err_per_image'), lowest=True)}; "
            f"linear probe: {_best(ok, lambda r: r.get('linear_probe_acc'))}; "
            f"P@{k}: {_best(ok, lambda r: r.get(f'p_at_{k}'))}; "
            f"frozen transfer, {_label_key(first)} labels: "
            f"{_best(ok, lambda r, key=first: ((r.get('transfer') or {}).get(key) or {}).get('frozen'))}."
        )
    if best:
        blocks += [Para("Best per network (from the table):"), Bullets(best)]
    sections = [Section(KINDS_TITLE, blocks), kinds_method_section(results)]
    figures = results.get("figures") or {}
    if figures:
        fig_blocks: list[Any] = [
            Para(
                f"The first {s['grid_images']} test digits (top row), then each kind's reconstructions, one "
                "row per kind in the order given (a VAE decodes its μ)."
            )
        ]
        for network, fig in figures.items():
            text = f"**{fig.get('label') or network}** — rows: test digits, {', '.join(fig['kinds'])}"
            fig_blocks += [Para(text), Image(img_dir / fig["image"], f"{fig.get('label') or network}: reconstructions")]
        sections.append(Section(SECTION_TITLES["kinds"][2], fig_blocks))
    return sections


def _n_of(value: int | None, total: int) -> str:
    return f"{total:,}" if value is None else f"{min(value, total):,}"


def kinds_method_section(results: dict[str, Any]) -> Section:
    s, k = results["settings"], results["settings"]["k"]
    nets = []
    for network, info in (results.get("network_settings") or {}).items():
        epochs = sorted({r.get("epochs_planned") for r in results["rows"] if r.get("network") == network} - {None})
        nets.append(
            f"`experiment={info['preset']}` ({info['label']}) trained for {_plural(epochs, info['epochs'], 'epochs')} "
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
        SECTION_TITLES["kinds"][1],
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
                    f"**Test sq. err. / image** (best-validation checkpoint, {_n_of(s['test_images'], 10_000)} test "
                    "images), **linear probe** "
                    f"({_n_of(s['probe_train'], N_TRAIN)} training codes → {_n_of(s['probe_test'], 10_000)} test), "
                    f"**P@{k}** ({_n_of(s['queries'], 10_000)} test queries among "
                    f"{_n_of(s['database'], 60_000)} training codes): as in the main table.",
                    "**Test −ELBO** (VAE only): −log p(x|z) (Bernoulli pixels, BCE summed over the 784 pixels) + "
                    "KL(q(z|x) ‖ N(0, I)), one z per image from a fixed seed, nats per test image; the other kinds "
                    "are not density models (—).",
                    f"**Transfer**: a linear head on the code, trained with Adam on n class-balanced labels "
                    f"({steps}): *frozen* = this kind's encoder fixed. *scratch* = the same architecture freshly "
                    f"initialised and trained with the head{scratch_steps} — it does not depend on the kind (no "
                    "trained weight is used), so it is measured **once per network** and repeated in each of its "
                    f"rows ({scratch_from}; the sparse net's logistic code units are not re-measured). Accuracy on "
                    f"{_n_of(s['transfer_test'], 10_000)} test images.",
                    "**Epochs**: completed (of planned), with the preset's number; **Wall time**: the run's training "
                    "time (metrics.json, with its per-epoch validation); **Hardware**: where it was trained.",
                ]
            )
        ],
    )


def _norms(norms: dict[str, float] | None) -> str:
    if not norms:
        return "—"
    return " · ".join(f"{float(v):.1e}" for v in norms.values())


def fmt_ratio(x: float | None) -> str:
    """Two significant digits (``0.30``, ``0.41``, ``1.0``), whole numbers from 10 (``12``, ``340``);
    ``3.4e-05`` outside [0.01, 1000)."""
    if x is None or not math.isfinite(x):
        return "—"
    if 0.01 <= abs(x) < 10:
        return f"{x:#.2g}".rstrip(".")  # 0.30, not 0.3 (and 9.99 -> 10)
    return f"{x:.0f}" if 10 <= abs(x) < 1000 else f"{x:.1e}"


def _plural(values: list[Any], fallback: Any, unit: str) -> str:
    """``20 epochs``, ``1 epoch``, ``10 / 3 epochs`` from the distinct ``values`` (else ``fallback``)."""
    text = " / ".join(str(v) for v in values) if values else str(fallback)
    return f"{text} {unit}" if text != "1" else f"{text} {unit.rstrip('s')}"


def _pretraining_cell(r: dict[str, Any]) -> str:
    stages = r.get("pretrain_stages") or []
    if not stages:
        return "none"
    per_layer = _plural([r.get("epochs_per_layer")], "?", "epochs")
    return f"{len(stages)} layers × {per_layer}, {fmt_duration(r.get('pretrain_time_s'))}"


def pretraining_sections(results: dict[str, Any], img_dir: Path) -> list[Section]:
    """The pretraining table: test error, ‖∂E/∂W‖ first/last and per layer at the start of
    end-to-end training, pretraining, epochs, wall time, hardware; then a grid per row."""
    rows = results["rows"]
    n_layers = max((len(r.get("grad_norms_init") or {}) for r in rows), default=0)
    head = [
        "Network",
        "Test sq. err. / image",
        "‖∂E/∂W‖ first / last layer",
        f"‖∂E/∂W‖ per layer (1 → {n_layers})" if n_layers else "‖∂E/∂W‖ per layer",
        "Pretraining",
        "Epochs",
        "Wall time",
        "Hardware",
    ]
    cells = []
    for r in rows:
        test = r.get("test") or {}
        ratio = r.get("grad_ratio")
        cells.append(
            [
                r["label"] if not r.get("error") else f"{r['label']} — **failed**: {r['error']}",
                fmt(test.get("sq_err_per_image"), 2),
                fmt_ratio(ratio),
                _norms(r.get("grad_norms_init")),
                _pretraining_cell(r),
                _epochs(r),
                fmt_duration(r.get("wall_time_s")),
                r.get("hardware") or "—",
            ]
        )
    blocks: list[Any] = _generated(results)
    blocks.append(Table(head, cells, [False, True, True, False, False, True, True, False]))
    sections = [Section(PRETRAINING_TITLE, blocks), pretraining_method_section(results)]
    grids = [r for r in rows if r.get("grid")]
    if grids:
        fig: list[Any] = [
            Para(
                f"The first {results['settings']['grid_images']} test digits (top row) and each net's "
                "reconstructions (bottom row), the same digits as the main table's images."
            )
        ]
        for r in grids:
            fig += [Para(f"**{r['label']}**"), Image(img_dir / r["grid"], r["label"])]
        sections.append(Section(SECTION_TITLES["pretraining"][2], fig))
    return sections


def pretraining_method_section(results: dict[str, Any]) -> Section:
    rows = [r for r in results["rows"] if not r.get("error")]
    epochs = sorted({r.get("epochs_planned") for r in rows} - {None})
    per_layer = sorted({r.get("epochs_per_layer") for r in rows} - {None})
    return Section(
        SECTION_TITLES["pretraining"][1],
        [
            Bullets(
                [
                    "**Networks**: 784-1000-500-250-30 with a linear code layer and a logistic output, BCE on "
                    "logits, AdamW one-cycle, one-pixel shifts (`experiment=hinton2006`); *logistic units* = "
                    "`experiment=hinton2006_sigmoid` (logistic hidden units, as in Hinton & Salakhutdinov 2006); "
                    "*ReLU units* = `experiment=hinton2006`. Every row: "
                    f"{_plural(epochs, '?', 'end-to-end epochs')} (the same for all, instead of the presets' 60).",
                    "**Layer-wise pretraining** (`pretrain=layerwise`): each encoder layer first trained as a "
                    "shallow autoencoder with tied weights on the codes of the layers below ("
                    f"{_plural(per_layer, '?', 'epochs')} each, constant learning rate), then "
                    "the stack unrolled (decoder = transposed encoder) and trained end to end — autoencoders "
                    "instead of the paper's RBMs (Bengio et al. 2007). Its time is part of the wall time.",
                    "**‖∂E/∂W‖**: the Frobenius norm of the loss gradient of each weight layer (first encoder "
                    "layer … output layer) on a fixed validation batch at the **start of end-to-end training** — "
                    "the initial weights, or the pretrained ones (metrics.json's `grad_norms_init`). "
                    "*first / last* = layer 1's over the output layer's (`aelab.gradflow.first_last_ratio`): "
                    "far below 1, the gradient fades on its way back to the first layers.",
                    "**Test sq. err. / image**: Σ over the 784 pixels of (x̂ − x)², the best-validation "
                    f"checkpoint, {_n_of(results['settings']['test_images'], 10_000)} test images.",
                ]
            )
        ],
    )


def _sections_md(sections: list[Section], base: Path) -> str:
    """Markdown of ``sections`` without a document title."""
    text = render_sections("-", sections, base)
    return text.split("\n\n", 1)[1] if "\n\n" in text else ""


def split_document(text: str) -> dict[str, str]:
    """An existing RESULTS.md cut into its tables' parts: ``main`` (the title and everything before
    the first added table's section), ``kinds``, ``pretraining`` (each from its first ``## `` heading
    to the next table's), each without trailing blank lines."""
    owner = {f"## {title}": table for table, titles in SECTION_TITLES.items() for title in titles}
    parts: dict[str, list[str]] = {"main": []}
    current = "main"
    for line in text.splitlines():
        if line in owner:
            current = owner[line]
        parts.setdefault(current, []).append(line)
    return {table: "\n".join(lines).rstrip() for table, lines in parts.items() if "\n".join(lines).strip()}


def _load(folder: Path, table: str) -> dict[str, Any] | None:
    path = folder / TABLE_FILES[table]
    if not path.exists():
        return None
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise CorruptFileError(f"{path} cannot be read ({type(err).__name__}: {err})") from None
    if not isinstance(results, dict) or not isinstance(results.get("rows"), list):
        raise CorruptFileError(f"{path} does not hold a results table (no list of rows)")
    return results


def render_document(folder: Path, existing: str | None = None, base: Path | None = None) -> str:
    """RESULTS.md from the tables' JSON files in ``folder`` (images in ``folder``/img, linked
    relative to ``base``): each table rendered from its JSON file, or — without one — its part of
    ``existing`` (the document already there) kept as it is; tables in neither are left out."""
    folder = Path(folder)
    base = folder if base is None else Path(base)
    old = split_document(existing) if existing else {}
    parts: list[str] = []
    main = _load(folder, "main")
    if main is not None:
        parts.append(_rendered(folder, "main", lambda: render_markdown(main, base)))
    else:
        parts.append(old.get("main") or f"# {MAIN_TITLE}")
    for table, render in (("kinds", kinds_sections), ("pretraining", pretraining_sections)):
        results = _load(folder, table)
        if results is not None:
            parts.append(_rendered(folder, table, lambda r=render, t=results: _sections_md(r(t, base / "img"), base)))
        elif table in old:
            parts.append(old[table])
    return "\n\n".join(parts) + "\n"


def _rendered(folder: Path, table: str, render: Any) -> str:
    """``render()``, with a table file of another shape (an older aelab's, edited) as one error."""
    try:
        return str(render()).rstrip()
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as err:
        raise CorruptFileError(
            f"{folder / TABLE_FILES[table]} does not hold the table this aelab writes "
            f"({type(err).__name__}: {err}); measure it again or restore it"
        ) from None


__all__ = [
    "SECTION_TITLES",
    "TABLE_FILES",
    "fmt_duration",
    "fmt_ratio",
    "kinds_sections",
    "pretraining_sections",
    "render_document",
    "render_markdown",
    "split_document",
]
