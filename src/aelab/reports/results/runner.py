"""Any results table, end to end: :func:`run_table` trains (or collects) each selected row's run,
measures it as its table says, and writes the table's JSON file and RESULTS.md after every row
(:class:`~aelab.reports.results.store.TableWriter`: merged under the folder's lock, so rows other
runs measured meanwhile stay). A row that fails is recorded as failed (the table keeps an earlier
measurement of it) and the table goes on; an interrupted training (Ctrl-C, SIGTERM) stops the
table, the rows measured so far written.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from aelab.config import compose
from aelab.errors import AelabError, ConfigError
from aelab.hardware import describe, resolve_device
from aelab.reports.results.measure import FULL, QUICK, EvalData, Settings, Timer
from aelab.reports.results.methods import CODE_DIM
from aelab.reports.results.rows import make_row
from aelab.reports.results.spec import Context, Row, RunRef, RunSettings, TableSpec
from aelab.reports.results.store import TableWriter, read_table
from aelab.training.loop import train

log = logging.getLogger("aelab.results")


class TableInterrupted(AelabError):
    """A training of the table was stopped (Ctrl-C, SIGTERM): the table stops with it."""


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
    """``["hinton2006=outputs/runs/x", ...]`` → ``{"hinton2006": Path(...)}``; checks that each run
    has a best checkpoint (which rows take a run: :func:`select_rows`)."""
    runs: dict[str, Path] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ConfigError(f"--runs takes NAME=RUN_DIR, got {item!r}")
        if not (Path(path) / "checkpoints" / "best.pt").exists():
            raise ConfigError(f"--runs {item}: no checkpoints/best.pt in {path}")
        runs[name] = Path(path)
    return runs


def select_rows(spec: TableSpec, names: Sequence[str] | None, runs: Mapping[str, Path] | None = None) -> list[Row]:
    """The rows of ``spec`` named in ``names`` (None: every row) and in ``runs``, in table order;
    an unknown name, or a run given for a row that is not trained, is a ConfigError."""
    known = {r.name: r for r in spec.measured_rows}
    runs = runs or {}
    unknown = [n for n in [*(names or ()), *runs] if n not in known]
    if unknown:
        raise ConfigError(
            f"the {spec.name} table has no row {', '.join(map(repr, unknown))}; its rows: {', '.join(known)}"
        )
    computed = [n for n in runs if known[n].train is None]
    if computed:
        raise ConfigError(f"--runs {', '.join(computed)}: computed here, not trained (no run to collect)")
    chosen = set(known if names is None else names) | set(runs)
    return [r for r in spec.measured_rows if r.name in chosen]


def _header(title: str, measure: Settings, device: torch.device, command: str | None) -> dict[str, Any]:
    return {
        "title": title,
        "mode": "quick" if measure.quick else "full",
        "created": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": command,
        "host": describe(device),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "settings": dataclasses.asdict(measure),
    }


def _run_of(ctx: Context, row: Row) -> RunRef:
    """The row's run: collected (``--runs``), or trained into ``<train_root>/<row folder>``."""
    s = ctx.settings
    hardware = s.hardware.get(row.name)
    if row.name in s.runs:
        return RunRef(Path(s.runs[row.name]), "collected", hardware=hardware)
    assert row.train is not None  # select_rows: a measured row is computed, trained or collected
    overrides = row.train(s.quick, s.device, s.extra_overrides)
    root = Path(s.train_root or ("outputs/results_quick/runs" if s.quick else "outputs/results"))
    metrics, run_dir = train_method(row.method, root / row.folder, overrides, retrain=s.retrain)
    return RunRef(run_dir, "trained", metrics, hardware, overrides)


def measure_row(ctx: Context, spec: TableSpec, row: Row) -> dict[str, Any]:
    """``row`` computed, or its run trained (or collected) and measured; a failure is a failed row
    (an interrupted training stops the table: TableInterrupted)."""
    try:
        if row.compute is not None:
            out = row.compute(ctx)
        else:
            run = _run_of(ctx, row)
            out = spec.measure(ctx, row, run)
            if run.overrides is not None:
                out["overrides"] = run.overrides
    except TableInterrupted:
        raise
    except Exception as err:  # one broken row must not lose the others' hours of work
        log.exception("[%s] failed", row.method)
        out = make_row(row.method, row.label, "failed", CODE_DIM, error=f"{type(err).__name__}: {err}")
    out.update(row.fields)
    return out


def run_table(spec: TableSpec, settings: RunSettings) -> dict[str, Any]:
    """Measure the selected rows of ``spec`` (trained here, or collected from ``settings.runs``) and
    write its JSON file, RESULTS.md (``settings.out``) and img/ beside it after every row; return
    the table as written last. Refused before anything is trained or written: an unknown row, a
    table file that cannot be read, the table's data (MNIST) missing."""
    rows = select_rows(spec, settings.rows, settings.runs)
    out = Path(settings.out)
    read_table(out.parent / spec.file)
    measure = settings.measure or (QUICK if settings.quick else FULL)
    device = resolve_device(settings.device)
    data_root = settings.data_root or os.environ.get("AELAB_DATA_DIR", "data")
    with Timer(f"loading {spec.data_title} from {data_root}"):
        data = (spec.data or EvalData.load)(data_root, device)
    img_dir = out.parent / "img"
    img_dir.mkdir(parents=True, exist_ok=True)  # only once the data is there: a refused run creates nothing
    ctx = Context(settings, measure, data, device, img_dir)
    writer = TableWriter(spec, out, _header(spec.title, measure, device, settings.command))
    for i, row in enumerate(rows):
        log.info("=== %d/%d: %s ===", i + 1, len(rows), row.method)
        if row.group and spec.start_group is not None and (i == 0 or rows[i - 1].group != row.group):
            spec.start_group(ctx, row.group)
        writer.add(measure_row(ctx, spec, row))
        last_of_group = row.group and (i + 1 == len(rows) or rows[i + 1].group != row.group)
        writer.commit(ctx, row.group if last_of_group else None)
    results = writer.commit(ctx)
    log.info("wrote %s and %s in %.0f s", out, writer.path, results["total_time_s"])
    return results


__all__ = ["TableInterrupted", "measure_row", "parse_runs", "run_table", "select_rows", "train_method"]
