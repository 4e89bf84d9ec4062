"""``build_comparison(run dirs, out dir)``: single runs side by side in one report, from the sweep
report's pieces: each run dir is read as a job (:mod:`.jobs`), results.csv is :mod:`.table`'s, the
learning curves are :func:`.plots.learning_curves` with one line per run, the reconstructions
:mod:`.recon`'s and the code spaces :mod:`.codes`'; what only a comparison has is the table of the
keys whose values differ and the runs' gradient flow on one chart (:mod:`.compare_plots`).

Outputs, in the out dir (by default ``compare/`` in the working directory): ``results.csv``,
``report.md``, ``report.html`` and ``report_files/*.png``, each rewritten atomically. A directory
that holds no run, or an out dir that holds a run or a sweep, is refused before anything is written.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aelab.config.saved import stable
from aelab.errors import RunDirError
from aelab.files import check_can_create, os_error, write_text
from aelab.reports.render import Code, Image, Para, Section, Table, render_html, render_markdown
from aelab.reports.sweep import plots
from aelab.reports.sweep.build import FILES_DIR, ReportResult, fmt, fmt_param
from aelab.reports.sweep.codes import PREFIX as CODES
from aelab.reports.sweep.codes import code_section, code_spaces
from aelab.reports.sweep.collect import Grid, Job, Sweep
from aelab.reports.sweep.compare_plots import gradient_flow_by_run
from aelab.reports.sweep.gradflow import format_ratio, job_ratios
from aelab.reports.sweep.jobs import read_job
from aelab.reports.sweep.recon import reconstruction_grids
from aelab.reports.sweep.table import write_results_csv
from aelab.training.rundir import RunDir

DEFAULT_OUT = "compare"


def is_run_dir(path: Path) -> bool:
    """A run's directory: it holds the run's checkpoint or its metrics.json."""
    run = RunDir(path)
    return run.last.exists() or run.metrics.exists()


def _is_sweep_dir(path: Path) -> bool:
    return (path / "multirun.yaml").exists()


@dataclass(frozen=True)
class RunGrid(Grid):
    """The compared runs on the report's grid: one row, one column per run (its label)."""

    row_keys: tuple[str, ...] = ()
    col_key: str = "run"
    labels: tuple[str, ...] = ()

    def row(self, job: Job) -> str:
        return "compared runs"

    def col(self, job: Job) -> Any:
        return self.labels[job.num]

    def col_label(self, value: Any) -> str:
        return str(value)


def run_labels(paths: list[Path]) -> list[str]:
    """A short name per run: its directory's name, with as many parent folders as set it apart from
    the others (``lr=0.1/run``, ``lr=1/run``, ``other``)."""
    parts = [p.resolve().parts for p in paths]
    depth = [1] * len(parts)
    while True:
        labels = ["/".join(p[-d:]) for p, d in zip(parts, depth)]
        clash = [i for i, label in enumerate(labels) if labels.count(label) > 1 and depth[i] < len(parts[i])]
        if not clash:
            return labels if len(set(labels)) == len(labels) else [f"{i}: {p}" for i, p in enumerate(paths)]
        for i in clash:
            depth[i] += 1


def file_keys(labels: list[str]) -> list[str]:
    """Each run's label as a file name's part (``recon_<key>.png``): characters other than letters,
    digits, ``-_=.`` become ``_``; two labels that would meet get their place in front (``1_a_run``)."""
    keys = ["".join(c if c.isalnum() or c in "-_=." else "_" for c in label) for label in labels]
    return keys if len(set(keys)) == len(keys) else [f"{i}_{k}" for i, k in enumerate(keys)]


def _figure_key(name: str) -> str:
    """A figure's key in the result: ``features_<run>`` as it is, a reconstruction ``recon_<run>``."""
    return name if name.startswith("features_") else f"recon_{name}"


def read_runs(paths: list[str | Path]) -> list[Job]:
    """Each directory read as a job (its number: its place on the command line); a directory that
    is missing or holds no run is one RunDirError naming it."""
    jobs = []
    for num, given in enumerate(paths):
        path = Path(given)
        try:
            if not path.is_dir():
                raise RunDirError(f"{path}: no such directory")
            if not is_run_dir(path):
                raise RunDirError(
                    f"{path}: no run here (no checkpoints/last.pt or metrics.json); aelab-report compares run "
                    "directories, or reports one sweep directory alone"
                )
        except OSError as err:
            raise os_error(err, path, "read") from None
        jobs.append(read_job(path, num))
    return jobs


def differing_keys(jobs: list[Job]) -> list[str]:
    """The run-defining keys whose values differ between the runs, in the schema's order (a
    ``model.*`` key that follows a differing top-level key of its name is left out)."""
    values = [stable(job.config, drop_missing=False) if job.config else {} for job in jobs]
    keys = list(dict.fromkeys(k for v in values for k in v))
    differ = [k for k in keys if len({repr(v.get(k)) for v in values}) > 1]
    top = set(differ)
    return [k for k in differ if not (k.startswith("model.") and k.removeprefix("model.") in top)]


def _check_out(out: Path) -> None:
    """Refuse an out dir that holds a run or a sweep: its own files are not to be overwritten."""
    try:
        if out.is_dir() and (is_run_dir(out) or _is_sweep_dir(out)):
            raise RunDirError(f"{out} holds a run or a sweep; write the comparison elsewhere with --out DIR")
        check_can_create(out / FILES_DIR)
    except OSError as err:
        raise os_error(err, out, "write") from None


def build_comparison(paths: list[str | Path], out_dir: str | Path = DEFAULT_OUT, recon: bool = True) -> ReportResult:
    """Write the comparison of the runs in ``paths`` into ``out_dir`` and return where everything is."""
    jobs = read_runs(paths)
    out = Path(out_dir)
    _check_out(out)
    labels = run_labels([Path(p) for p in paths])
    sweep = Sweep(out, jobs, differing_keys(jobs), [], [], "compare", {})
    try:
        return _build(sweep, labels, [str(p) for p in paths], recon)
    except OSError as err:
        raise os_error(err) from None


def _build(sweep: Sweep, labels: list[str], given: list[str], recon: bool) -> ReportResult:
    files = sweep.dir / FILES_DIR
    files.mkdir(parents=True, exist_ok=True)
    csv_path = write_results_csv(sweep, sweep.dir / "results.csv")
    figures: dict[str, Path] = {}
    problems = [f"{labels[j.num]}: {j.problem}" for j in sweep.jobs if j.problem]
    drawn = {
        "learning_curves": lambda p: plots.learning_curves(sweep.jobs, p, RunGrid(labels=tuple(labels))),
        "gradflow": lambda p: gradient_flow_by_run(sweep.jobs, labels, p),
    }
    for name, draw in drawn.items():
        try:
            if (path := draw(files / f"{name}.png")) is not None:
                figures[name] = path
        except Exception as err:  # one broken figure must not cost the whole report
            problems.append(f"figure {name}: {type(err).__name__}: {err}")
    keys = file_keys(labels)
    chosen = {keys[j.num]: j for j in sweep.jobs if j.metrics and j.metrics.get("history")}
    grids = reconstruction_grids(chosen, files) if recon else {}
    codes = code_spaces(chosen, files) if recon else {}
    figures.update({_figure_key(k): v for k, v in grids.items() if isinstance(v, Path)})
    figures.update({f"{CODES}{k}": v for k, v in codes.items() if isinstance(v, Path)})
    for stale in files.glob("*.png"):  # from an earlier comparison in this out dir
        if stale not in figures.values():
            stale.unlink()
    shown = {keys[j.num]: labels[j.num] for j in sweep.jobs}
    sections = [
        _summary(sweep, labels),
        _differences(sweep, labels),
        _results(sweep, labels),
        _figure("Learning curves", figures.get("learning_curves"), "No run finished an epoch: nothing to plot."),
        _gradflow(sweep, labels, figures.get("gradflow")),
        _images(chosen, shown, grids, recon),
        _codes(chosen, shown, codes, recon),
        Section("Rebuild", [Code(" ".join(["aelab-report", *map(shlex.quote, [*given, "--out", str(sweep.dir)])]))]),
    ]
    if problems:
        sections.insert(1, Section("Report problems", [Para(p) for p in problems]))
    title = f"Runs compared: {', '.join(labels)}"
    md = write_text(sweep.dir / "report.md", render_markdown(title, sections, sweep.dir))
    page = write_text(sweep.dir / "report.html", render_html(title, sections))
    return ReportResult(sweep.dir, md, page, csv_path, figures, sweep.counts(), problems, [])


# --- sections -----------------------------------------------------------------------------------


def _summary(sweep: Sweep, labels: list[str]) -> Section:
    rows = []
    for job in sweep.jobs:
        m = job.metrics or {}
        epochs = f"{m.get('epochs_completed')} ({m.get('best_epoch')})" if m else "—"
        rows.append([labels[job.num], f"`{job.dir}`", job.status, epochs, fmt(m.get("wall_time_s"), 1)])
    blocks: list[Any] = [
        Para(f"**{len(sweep.jobs)} runs**, each with its best-validation checkpoint for the test numbers."),
        Table(["run", "directory", "status", "epochs (best)", "wall s"], rows, [False, False, False, True, True]),
    ]
    return Section("Runs", blocks)


def _differences(sweep: Sweep, labels: list[str]) -> Section:
    if not sweep.swept:
        return Section("What differs", [Para("Nothing the runs train with: their configs agree on every key.")])
    rows = [[f"`{key}`", *[fmt_param(job.param(key)) for job in sweep.jobs]] for key in sweep.swept]
    blocks: list[Any] = [
        Para("The keys whose values differ (where a run writes its files, and how it reports, left out)."),
        Table(["key", *labels], rows),
    ]
    return Section("What differs", blocks)


def _results(sweep: Sweep, labels: list[str]) -> Section:
    rows = [
        [
            labels[j.num],
            j.status,
            fmt(j.metric("val")),
            fmt(j.metric("test")),
            fmt(j.metric("test", "mse"), 5),
            fmt(j.metric("test", "bce"), 5),
            fmt((j.metrics or {}).get("samples_per_s"), 0),
        ]
        for j in sweep.jobs
    ]
    headers = ["run", "status", "val sq_err", "test sq_err", "test mse", "test bce", "samples/s"]
    blocks: list[Any] = [
        Para("Squared error summed over an image's pixels, averaged over images; every column is in `results.csv`."),
        Table(headers, rows, [False, False, True, True, True, True, True]),
    ]
    return Section("Results", blocks)


def _figure(title: str, path: Path | None, empty: str) -> Section:
    return Section(title, [Image(path, title.lower())] if path is not None else [Para(empty)])


def _gradflow(sweep: Sweep, labels: list[str], figure: Path | None) -> Section:
    rows = [[labels[j.num], *(format_ratio(r) for r in job_ratios(j))] for j in sweep.jobs]
    blocks: list[Any] = [
        Para(
            "‖∂E/∂W⁽¹⁾‖ / ‖∂E/∂W⁽ᴸ⁾‖, the first weight layer's gradient norm over the output layer's, on 256 "
            "validation images: far below 1, the gradient fades on its way back; near 1, it carries."
        ),
        Table(["run", "ratio at init", "after epoch 1"], rows, [False, True, True]),
    ]
    if figure is not None:
        blocks.append(Image(figure, "per-layer gradient norms of each run"))
    return Section("Gradient flow", blocks)


def _images(chosen: dict[str, Job], shown: dict[str, str], grids: dict[str, Path | str], drawn: bool) -> Section:
    title = "Reconstructions and features"
    if not drawn:
        return Section(title, [Para("Not drawn (reconstruction grids turned off).")])
    blocks: list[Any] = [
        Para(
            "The first 16 test images (top row) and each run's reconstructions (bottom row); then what its "
            "first layer learned to look for: each unit's input weights as an image, scaled per unit, zero "
            "mid-grey."
        )
    ]
    for key in chosen:
        blocks.append(Para(f"**{shown[key]}**"))
        for name, what in ((key, "reconstructions"), (f"features_{key}", "first-layer features")):
            grid = grids.get(name)
            if isinstance(grid, Path):
                blocks.append(Image(grid, f"{what} of {shown[key]}"))
            elif grid is not None:
                blocks.append(Para(f"({what} not drawn: {grid})"))
    return Section(title, blocks)


def _codes(chosen: dict[str, Job], shown: dict[str, str], codes: dict[str, Path | str], drawn: bool) -> Section:
    if not drawn:
        return Section("Code space", [Para("Not drawn (reconstruction grids turned off).")])
    describe = {
        key: f"**{shown[key]}**: test sq_err_per_image {fmt(job.metric('test'))}." for key, job in chosen.items()
    }
    return code_section(chosen, codes, describe)


__all__ = [
    "DEFAULT_OUT",
    "RunGrid",
    "build_comparison",
    "differing_keys",
    "file_keys",
    "is_run_dir",
    "read_runs",
    "run_labels",
]
