"""The results tables, end to end: train (or collect) the autoencoders, measure every method, write
RESULTS.md, a JSON file per table and img/results_*.png (the same first 16 test digits for each).

* :func:`run_results` — the main table (``results.json``): PCA, the linear AE, the hinton2006 MLP,
  the conv AE, pixels. Autoencoders are trained here with :func:`aelab.train` (into
  ``<train_root>/<method>``; a completed run of the same config there is reused) or collected from
  finished runs (``runs=``), e.g. long GPU trainings.
* :func:`run_kinds` — the kinds table (``results_kinds.json``): every ``ae=`` kind on the MLP and
  the conv net (``<train_root>/kinds/<network>_<kind>``), the scratch transfer baseline measured
  once per network.
* :func:`run_pretraining` — the pretraining table (``results_pretraining.json``): the logistic net
  without and with layer-wise pretraining and the ReLU net (``<train_root>/pretraining/<row>``).

RESULTS.md is the three tables' sections, each rendered from its JSON file beside it
(:func:`write_document`): producing one table never drops or changes another's. Within a table, the
rows measured now replace those of the same method in its JSON file; the others (not selected, or
failed now) are kept as they were, and the file is rewritten after every row, so an interruption or
a crash loses at most the row in progress. Ctrl-C (or SIGTERM) stops the table, not just one run.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from aelab.build import build
from aelab.config import compose, to_config, to_dict
from aelab.errors import AelabError, CorruptFileError
from aelab.files import write_json, write_text
from aelab.gradflow import first_last_ratio
from aelab.hardware import describe, resolve_device
from aelab.reports.results.measure import (
    FULL,
    QUICK,
    EvalData,
    Settings,
    Timer,
    autoencoder_row,
    checks,
    code_encoder,
    code_metrics,
    make_row,
    pca_row,
    pixels_row,
    published_rows,
    reconstructions,
    run_row,
    save_image_rows,
    scratch_transfer,
)
from aelab.reports.results.methods import (
    AE_METHODS,
    CODE_DIM,
    KINDS,
    METHODS,
    NETWORKS,
    PRETRAINING,
    kind_name,
    kind_overrides,
    method_overrides,
    pretrain_overrides,
)
from aelab.reports.results.render import TABLE_FILES, render_document
from aelab.runs import load_run
from aelab.training.loop import train

log = logging.getLogger("aelab.results")


class TableInterrupted(AelabError):
    """A training of the table was stopped (Ctrl-C, SIGTERM): the table stops with it."""


def read_table(out: str | Path, table: str) -> dict[str, Any] | None:
    """``table``'s JSON file beside ``out`` (None if there is none). One that cannot be read is an
    error before anything is trained: its rows are never overwritten by a partial table."""
    path = Path(out).parent / TABLE_FILES[table]
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
            raise ValueError("no list of rows")
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise CorruptFileError(
            f"{path} cannot be read ({type(err).__name__}: {err}); move it away (or repair it) to measure "
            "this table again"
        ) from None
    return data


class _Table:
    """A table's rows as they are measured, merged with the rows of its JSON file already there
    (kept where nothing new, or only a failure, was measured for their method) and written, JSON
    then markdown, after every row."""

    def __init__(
        self, out: Path, table: str, header: dict[str, Any], key: Callable[[dict[str, Any]], Any], order: list[Any]
    ) -> None:
        self.out, self.table, self.header, self.key, self.order = out, table, header, key, order
        self.previous = read_table(out, table)
        self.started = time.perf_counter()
        self.now: list[dict[str, Any]] = []

    def add(self, row: dict[str, Any]) -> None:
        row["measured"] = {"created": self.header["created"], "command": self.header["command"]}
        self.now.append(row)

    @property
    def failed(self) -> list[str]:
        return [r["method"] for r in self.now if r.get("error")]

    def rows(self) -> list[dict[str, Any]]:
        old = {self.key(r): r for r in (self.previous or {}).get("rows", []) if r.get("source") != "published"}
        new = {self.key(r): r for r in self.now}
        merged = []
        for k in [*self.order, *[k for k in old if k not in self.order]]:
            row = new.get(k)
            if row is None or (row.get("error") and k in old and not old[k].get("error")):
                if row is not None:
                    log.warning("[%s] failed now: the table keeps its earlier measurement", row["method"])
                row = old.get(k)
                if row is not None and not row.get("measured"):  # a row from before rows were stamped
                    previous = self.previous or {}
                    row = {**row, "measured": {"created": previous.get("created"), "command": previous.get("command")}}
            if row is not None:
                merged.append(row)
        return merged

    def previous_field(self, name: str) -> Any:
        return (self.previous or {}).get(name)

    def write(self, tail: Sequence[dict[str, Any]] = (), **fields: Any) -> dict[str, Any]:
        rows = self.rows() + list(tail)
        if self.table == "main":
            fields["checks"] = checks(rows)
            fields["methods"] = [m for m in METHODS if any(r["method"] == m for r in rows)]  # kept ones too
        results = {
            **self.header,
            "table": self.table,
            **fields,
            "rows": rows,
            "failed": self.failed,
            "total_time_s": time.perf_counter() - self.started,
        }
        write_results(results, self.out, self.table)
        return results


def train_method(
    method: str, run_dir: str | Path, overrides: Sequence[str], retrain: bool = False
) -> tuple[dict[str, Any], Path]:
    """Train ``method`` into ``run_dir`` with :func:`aelab.train` (``skip_done``: a completed run of the
    same config there is reused); ``retrain`` trains into a new ``<run_dir>-<time>`` instead, never
    over a run. Returns (its metrics, its directory); raises if it did not complete."""
    run_dir = Path(run_dir)
    if retrain and run_dir.exists():
        run_dir = run_dir.with_name(f"{run_dir.name}-{_dt.datetime.now():%Y%m%d-%H%M%S}")
    cfg = compose([*overrides, "skip_done=true"])
    log.info(
        "[%s] training into %s (a completed run of this config there is reused): %s",
        method,
        run_dir,
        " ".join(overrides),
    )
    metrics = train(cfg, run_dir)
    if metrics["status"] == "interrupted":
        raise TableInterrupted(
            f"training {method} was interrupted; its run in {run_dir} is kept and resumes when the table is "
            "run again (the rows measured so far are written)"
        )
    if metrics["status"] != "completed":
        raise RuntimeError(f"training {method} {metrics['status']}: {metrics.get('error')}")
    return metrics, run_dir


def parse_runs(items: Sequence[str]) -> dict[str, Path]:
    """``["hinton2006=outputs/runs/x", ...]`` → ``{"hinton2006": Path(...)}``; checks the names and
    that each run has a best checkpoint."""
    runs: dict[str, Path] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--runs takes NAME=RUN_DIR, got {item!r}")
        if name not in AE_METHODS:
            raise ValueError(f"--runs: unknown method {name!r}; one of: {', '.join(AE_METHODS)}")
        if not (Path(path) / "checkpoints" / "best.pt").exists():
            raise ValueError(f"--runs {item}: no checkpoints/best.pt in {path}")
        runs[name] = Path(path)
    return runs


def run_results(
    out: str | Path,
    *,
    methods: Sequence[str] = METHODS,
    runs: dict[str, Path] | None = None,
    quick: bool = False,
    settings: Settings | None = None,
    train_root: str | Path | None = None,
    data_root: str | Path | None = None,
    device: str = "auto",
    extra_overrides: Sequence[str] = (),
    retrain: bool = False,
    hardware: dict[str, str] | None = None,
    command: str | None = None,
) -> dict[str, Any]:
    """Measure ``methods`` (trained here, or collected from ``runs``), write ``out`` (markdown),
    ``results.json`` and ``img/results_<method>.png`` beside it; return the results dict."""
    out = Path(out)
    img_dir = out.parent / "img"
    runs = dict(runs or {})
    unknown = [m for m in [*methods, *runs] if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {', '.join(unknown)}; choose from: {', '.join(METHODS)}")
    selected = [m for m in METHODS if m in methods or m in runs]
    settings = settings or (QUICK if quick else FULL)
    train_root = Path(train_root or ("outputs/results_quick/runs" if quick else "outputs/results"))
    dev = resolve_device(device)
    data_root = data_root or os.environ.get("AELAB_DATA_DIR", "data")
    table = _Table(
        out,
        "main",
        _header("30-d codes of MNIST: reconstruction, linear probe, retrieval and transfer", settings, dev, command),
        key=lambda r: r["method"],
        order=list(METHODS),
    )
    with Timer(f"loading MNIST from {data_root}"):
        data = EvalData.load(data_root, dev)
    img_dir.mkdir(parents=True, exist_ok=True)  # only once the data is there: a refused run creates nothing

    for i, method in enumerate(selected, 1):
        log.info("=== %d/%d: %s ===", i, len(selected), method)
        try:
            if method == "pca":
                table.add(pca_row(data, settings, img_dir, dev))
            elif method == "pixels":
                table.add(pixels_row(data, settings, dev))
            elif method in runs:
                table.add(
                    autoencoder_row(
                        method, runs[method], data, settings, img_dir, dev, "collected", (hardware or {}).get(method)
                    )
                )
            else:
                overrides = method_overrides(method, quick, device, extra_overrides)
                _, run_dir = train_method(method, train_root / method, overrides, retrain=retrain)
                row = autoencoder_row(
                    method,
                    run_dir,
                    data,
                    settings,
                    img_dir,
                    dev,
                    "trained",
                    (hardware or {}).get(method) or describe(dev),
                )
                row["overrides"] = overrides
                table.add(row)
        except TableInterrupted:
            raise
        except Exception as err:  # one broken method must not lose the others' hours of work
            log.exception("[%s] failed", method)
            label = AE_METHODS[method].label if method in AE_METHODS else method
            table.add(make_row(method, label, "failed", CODE_DIM, error=f"{type(err).__name__}: {err}"))
        table.write(published_rows())
    results = table.write(published_rows())
    log.info("wrote %s and %s in %.0f s", out, out.parent / "results.json", results["total_time_s"])
    return results


def write_results(results: dict[str, Any], out: str | Path, table: str = "main") -> tuple[Path, Path]:
    """Write ``table``'s JSON file beside ``out`` (``results.json`` for the main table), then ``out``
    (markdown: every table whose JSON is there, :func:`write_document`), each atomically."""
    out = Path(out)
    json_path = write_json(out.parent / TABLE_FILES[table], results)
    write_document(out)
    return out, json_path


def write_document(out: str | Path) -> Path:
    """``out`` from the tables' JSON files beside it; a table without one keeps its sections of the
    ``out`` already there (e.g. the main table, whose runs are not on this machine)."""
    out = Path(out)
    existing = out.read_text() if out.exists() else None
    return write_text(out, render_document(out.parent, existing, out.parent))


def _start(
    out: str | Path, quick: bool, settings: Settings | None, train_root: str | Path | None, folder: str
) -> tuple[Path, Path, Settings, Path]:
    out = Path(out)
    img_dir = out.parent / "img"
    root = Path(train_root or ("outputs/results_quick/runs" if quick else "outputs/results")) / folder
    return out, img_dir, settings or (QUICK if quick else FULL), root


def _header(title: str, settings: Settings, dev: Any, command: str | None) -> dict[str, Any]:
    return {
        "title": title,
        "mode": "quick" if settings.quick else "full",
        "created": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": command,
        "host": describe(dev),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "settings": dataclasses.asdict(settings),
    }


def _preset_epochs(preset: str) -> int | None:
    try:
        return int(compose([f"experiment={preset}"]).trainer.epochs)
    except Exception as err:  # never fatal
        log.warning("could not compose experiment=%s: %s", preset, err)
        return None


def kind_label(kind: str, config: dict[str, Any]) -> str:
    """``denoising (masking, 0.3)``: the kind and its settings, from a run's config."""
    ae = config.get("ae") or {"name": "plain"}
    if kind == "denoising":
        return f"denoising ({ae.get('noise')}, {ae.get('noise_level')})"
    if kind == "sparse":
        code = config["model"].get("code_activation")
        if ae.get("penalty") == "kl":
            return f"sparse (KL to {ae.get('target')}, weight {ae.get('weight')}, {code} code)"
        return f"sparse ({ae.get('penalty')}, weight {ae.get('weight')}, {code} code)"
    if kind == "contractive":
        return f"contractive (weight {ae.get('weight')})"
    if kind == "vae":
        return f"VAE (β = {ae.get('beta')})"
    return kind


def run_kinds(
    out: str | Path,
    *,
    networks: Sequence[str] = tuple(NETWORKS),
    kinds: Sequence[str] = KINDS,
    quick: bool = False,
    settings: Settings | None = None,
    train_root: str | Path | None = None,
    data_root: str | Path | None = None,
    device: str = "auto",
    extra_overrides: Sequence[str] = (),
    retrain: bool = False,
    command: str | None = None,
) -> dict[str, Any]:
    """The kinds table: train each of ``kinds`` on each of ``networks`` (``<train_root>/kinds/
    <network>_<kind>``; a completed run there is reused), measure every run as the main table does
    — the from-scratch transfer baseline once per network — and write ``results_kinds.json``,
    ``img/results_kinds_<network>.png`` (the test digits, then a row per kind) and ``out``."""
    unknown = [n for n in networks if n not in NETWORKS] + [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(
            f"unknown network(s)/kind(s) {', '.join(unknown)}; "
            f"networks: {', '.join(NETWORKS)}; kinds: {', '.join(KINDS)}"
        )
    networks = [n for n in NETWORKS if n in networks]
    kinds = [k for k in KINDS if k in kinds]
    out, img_dir, settings, root = _start(out, quick, settings, train_root, "kinds")
    dev = resolve_device(device)
    table = _Table(
        out,
        "kinds",
        _header("Autoencoder kinds on the same networks", settings, dev, command),
        key=lambda r: (r.get("network"), r.get("kind")),
        order=[(n, k) for n in NETWORKS for k in KINDS],
    )
    data_root = data_root or os.environ.get("AELAB_DATA_DIR", "data")
    with Timer(f"loading MNIST from {data_root}"):
        data = EvalData.load(data_root, dev)
    img_dir.mkdir(parents=True, exist_ok=True)  # only once the data is there: a refused run creates nothing

    scratch: dict[str, dict[str, Any]] = dict(table.previous_field("scratch") or {})
    figures: dict[str, dict[str, Any]] = dict(table.previous_field("figures") or {})
    network_settings: dict[str, dict[str, Any]] = dict(table.previous_field("network_settings") or {})

    def write() -> dict[str, Any]:
        return table.write(
            networks=[n for n in NETWORKS if n in network_settings],
            kinds=list(KINDS),
            network_settings=network_settings,
            scratch=scratch,
            figures=figures,
        )

    for network in networks:
        net = NETWORKS[network]
        preset_epochs = _preset_epochs(net.preset)
        network_settings[network] = {
            "label": net.label,
            "preset": net.preset,
            "epochs": net.epochs,
            "preset_epochs": preset_epochs,
        }
        # The from-scratch baseline belongs to the architecture: the plain kind's, freshly built
        # (its weights are re-initialised anyway), whichever kinds are measured now.
        name = kind_name(network, "plain")
        plain = to_config(compose(kind_overrides(network, "plain", quick, device, extra_overrides)))
        encoder = code_encoder(build(plain))
        with Timer(f"[{network}] from-scratch transfer baseline (the architecture of {name})") as t:
            acc = scratch_transfer(encoder, plain.model.code_dim, data, settings, f"{network} scratch")
        scratch[network] = {"from": name, "accuracy": acc, "time_s": t.seconds}
        for i, kind in enumerate(kinds, 1):
            name = kind_name(network, kind)
            log.info("=== %s %d/%d: %s ===", network, i, len(kinds), name)
            try:
                overrides = kind_overrides(network, kind, quick, device, extra_overrides)
                _, run_dir = train_method(name, root / name, overrides, retrain=retrain)
                config = to_dict(load_run(run_dir).config)
                row, model = run_row(
                    name, kind_label(kind, config), run_dir, data, settings, img_dir, dev, "trained",
                    epochs_preset=preset_epochs, grid=False,
                )  # fmt: skip
                encoder = code_encoder(model)
                row.update(code_metrics(encoder, row["code_dim"], data, settings, name, scratch[network]["accuracy"]))
                row.update(network=network, kind=kind, overrides=overrides, network_label=net.label)
                row["neg_elbo"] = (row.get("test") or {}).get("neg_elbo")
                table.add(row)
            except TableInterrupted:
                raise
            except Exception as err:  # one broken kind must not lose the others' hours of work
                log.exception("[%s] failed", name)
                table.add(
                    make_row(name, kind, "failed", CODE_DIM, network=network, kind=kind, network_label=net.label,
                             error=f"{type(err).__name__}: {err}")
                )  # fmt: skip
            write()
        if figure := _kinds_figure(network, table.rows(), img_dir, data.test_x[: settings.grid_images], net.label):
            figures[network] = figure
    results = write()
    log.info("wrote %s and %s in %.0f s", out, out.parent / TABLE_FILES["kinds"], results["total_time_s"])
    return results


def _kinds_figure(
    network: str, rows: list[dict[str, Any]], img_dir: Path, images: torch.Tensor, label: str
) -> dict[str, Any] | None:
    """``img/results_kinds_<network>.png``: the test digits, then the reconstructions of each kind
    the table holds for ``network`` (runs measured earlier included, reloaded from their directory)."""
    grid_rows, grid_kinds = [images.cpu()], []
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
    if not grid_kinds:
        return None
    path = save_image_rows(grid_rows, img_dir / f"results_kinds_{network}.png")
    return {"image": path.name, "kinds": grid_kinds, "label": label}


def run_pretraining(
    out: str | Path,
    *,
    names: Sequence[str] = tuple(PRETRAINING),
    quick: bool = False,
    settings: Settings | None = None,
    train_root: str | Path | None = None,
    data_root: str | Path | None = None,
    device: str = "auto",
    extra_overrides: Sequence[str] = (),
    retrain: bool = False,
    command: str | None = None,
) -> dict[str, Any]:
    """The pretraining table: the rows of :data:`PRETRAINING` trained here (``<train_root>/
    pretraining/<row>``; a completed run there is reused), each with its test error, the per-layer
    ‖∂E/∂W‖ at the start of end-to-end training (after any pretraining) and their first/last ratio,
    its pretraining time and ``img/results_pretraining_<row>.png``; writes
    ``results_pretraining.json`` and ``out``."""
    unknown = [n for n in names if n not in PRETRAINING]
    if unknown:
        raise ValueError(f"unknown row(s) {', '.join(unknown)}; choose from: {', '.join(PRETRAINING)}")
    names = [n for n in PRETRAINING if n in names]
    out, img_dir, settings, root = _start(out, quick, settings, train_root, "pretraining")
    dev = resolve_device(device)
    table = _Table(
        out,
        "pretraining",
        _header("Layer-wise pretraining and the gradient at the start of training", settings, dev, command),
        key=lambda r: r.get("name"),
        order=list(PRETRAINING),
    )
    data_root = data_root or os.environ.get("AELAB_DATA_DIR", "data")
    with Timer(f"loading MNIST from {data_root}"):
        data = EvalData.load(data_root, dev)
    img_dir.mkdir(parents=True, exist_ok=True)  # only once the data is there: a refused run creates nothing

    for i, name in enumerate(names, 1):
        spec = PRETRAINING[name]
        method = f"pretraining_{name}"
        log.info("=== %d/%d: %s ===", i, len(names), method)
        try:
            overrides = pretrain_overrides(name, quick, device, extra_overrides)
            metrics, run_dir = train_method(method, root / name, overrides, retrain=retrain)
            config = to_dict(load_run(run_dir).config)
            preset = next(o.split("=", 1)[1] for o in spec.overrides if o.startswith("experiment="))
            row, _ = run_row(
                method, spec.label, run_dir, data, settings, img_dir, dev, "trained",
                epochs_preset=_preset_epochs(preset),
            )  # fmt: skip
            norms = metrics.get("grad_norms_init") or {}
            stages = (metrics.get("pretrain") or {}).get("stages") or []
            row.update(
                name=name,
                activation=config.get("activation"),
                pretraining=config["pretrain"]["name"],
                epochs_per_layer=config["pretrain"]["epochs_per_layer"] if stages else None,
                pretrain_stages=[{"layer": s["layer"], "time_s": s["time_s"], "losses": s["losses"]} for s in stages],
                pretrain_time_s=sum(float(s["time_s"]) for s in stages) if stages else None,
                train_time_s=metrics.get("train_time_s"),
                grad_norms_init=norms,
                grad_ratio=first_last_ratio(norms),
                overrides=overrides,
            )
            table.add(row)
        except TableInterrupted:
            raise
        except Exception as err:  # one broken row must not lose the others
            log.exception("[%s] failed", method)
            error = f"{type(err).__name__}: {err}"
            table.add(make_row(method, spec.label, "failed", CODE_DIM, name=name, error=error))
        table.write()
    results = table.write()
    log.info("wrote %s and %s in %.0f s", out, out.parent / TABLE_FILES["pretraining"], results["total_time_s"])
    return results


__all__ = [
    "TableInterrupted",
    "kind_label",
    "parse_runs",
    "read_table",
    "run_kinds",
    "run_pretraining",
    "run_results",
    "train_method",
    "write_document",
    "write_results",
]
