"""``build_report(sweep_dir)``: collect the jobs, write results.csv, draw, render report.md/.html.

Idempotent (every output is rewritten, atomically, from what is on disk) and tolerant: a partial,
interrupted or failing sweep still gets its report, with the failed and missing jobs listed; a
figure that cannot be drawn is replaced by a line saying why. Outputs, in the sweep dir:
``results.csv``, ``report.md``, ``report.html`` (self-contained) and ``report_files/*.png``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from aelab.errors import RunDirError
from aelab.files import check_can_create, os_error, write_text
from aelab.reports.render import Bullets, Code, Image, Para, Section, Table, render_html, render_markdown
from aelab.reports.sweep import plots
from aelab.reports.sweep.codes import PREFIX as CODES
from aelab.reports.sweep.codes import code_section, code_spaces
from aelab.reports.sweep.collect import Job, Sweep, collect_sweep, finite, grid_of
from aelab.reports.sweep.gradflow import format_ratio, ratio_table
from aelab.reports.sweep.recon import chosen_runs, reconstruction_grids
from aelab.reports.sweep.reproduce import display_dir, reproduce_section, train_command
from aelab.reports.sweep.table import write_results_csv

FILES_DIR = "report_files"
FIGURES = (("heatmap", plots.heatmap), ("learning_curves", plots.learning_curves), ("gradflow", plots.gradient_flow))


class NoJobsError(RunDirError):
    """The directory holds no job of a sweep (no numbered job dir, no multirun.yaml listing any)."""

    exit_code = 1


@dataclass
class ReportResult:
    sweep_dir: Path
    markdown: Path
    html: Path
    csv: Path
    figures: dict[str, Path] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)  # dirs that are not the sweep's jobs: "<dir>/: why"

    def summary(self) -> str:
        return ", ".join(f"{n} {status}" for status, n in sorted(self.counts.items()))


def build_report(sweep_dir: str | Path, recon: bool = True) -> ReportResult:
    """Write the sweep's report into ``sweep_dir`` and return where everything is. A sweep dir that
    cannot be read or written (no permission, a read-only file system) is one AelabError naming it."""
    sweep = collect_sweep(sweep_dir)
    if not sweep.jobs:
        raise NoJobsError(
            f"{sweep_dir}: no jobs here (no numbered job dirs, no multirun.yaml listing any); "
            "is this a Hydra multirun directory?"
        )
    try:
        return _build(sweep, recon)
    except OSError as err:
        raise os_error(err) from None


def _build(sweep: Sweep, recon: bool) -> ReportResult:
    out_dir = sweep.dir / FILES_DIR
    check_can_create(out_dir)
    out_dir.mkdir(exist_ok=True)
    csv_path = write_results_csv(sweep, sweep.dir / "results.csv")

    figures: dict[str, Path] = {}
    problems = [f"job {j.num}: {j.problem}" for j in sweep.jobs if j.problem]
    for name, draw in FIGURES:
        try:
            path = draw(sweep.jobs, out_dir / f"{name}.png", grid_of(sweep.swept))
            if path is not None:
                figures[name] = path
        except Exception as err:  # one broken figure must not cost the whole report
            problems.append(f"figure {name}: {type(err).__name__}: {err}")

    best, _ = best_and_worst(sweep.jobs)
    chosen = chosen_runs(sweep.jobs, sweep.swept)
    grids: dict[str, Path | str] = {}
    if recon and chosen:
        grids = reconstruction_grids(chosen, out_dir, cwd=sweep.cwd)
        figures.update(
            {k if k.startswith("features_") else f"recon_{k}": v for k, v in grids.items() if isinstance(v, Path)}
        )
    codes = code_spaces(chosen, out_dir, cwd=sweep.cwd) if recon else {}
    figures.update({f"{CODES}{k}": v for k, v in codes.items() if isinstance(v, Path)})
    for stale in out_dir.glob("*.png"):  # from an earlier build, e.g. a worst run that is now best
        if stale not in figures.values():
            stale.unlink()

    sections = [
        summary_section(sweep),
        best_section(sweep, best),
        results_section(sweep),
        figure_section(
            f"Test error: {grid_of(sweep.swept).row_title} × {grid_of(sweep.swept).col_key}",
            figures.get("heatmap"),
            "test sq_err_per_image heatmap",
            "No completed run: nothing to plot.",
        ),
        figure_section(
            "Learning curves",
            figures.get("learning_curves"),
            "validation sq_err_per_image per epoch",
            "No run finished an epoch: nothing to plot.",
        ),
        gradflow_section(sweep, figures.get("gradflow")),
        recon_section(sweep, chosen, grids)
        if recon
        else Section("Reconstructions", [Para("Not drawn (reconstruction grids turned off).")]),
        code_space_section(sweep, chosen, codes, recon),
        problems_section(sweep),
        *([outside_section(sweep)] if sweep.outside else []),
        reproduce_section(sweep),
    ]
    if problems:
        sections.insert(1, Section("Report problems", [Bullets(problems)]))
    title = f"Sweep report: {display_dir(sweep)}"
    md = write_text(sweep.dir / "report.md", render_markdown(title, sections, sweep.dir))
    page = write_text(sweep.dir / "report.html", render_html(title, sections))
    outside = [f"{j.dir.name if j.dir else '?'}/: {j.error}" for j in sweep.outside]
    return ReportResult(sweep.dir, md, page, csv_path, figures, sweep.counts(), problems, outside)


# --- choosing runs ------------------------------------------------------------------------------


def best_and_worst(jobs: list[Job]) -> tuple[Job | None, Job | None]:
    """The completed runs with the lowest and highest validation sq_err_per_image (the objective)."""
    done = sorted((j for j in jobs if j.completed and finite(j.metric("val"))), key=lambda j: j.metric("val") or 0.0)
    return (done[0], done[-1]) if done else (None, None)


def swept_values(job: Job, sweep: Sweep) -> str:
    return " ".join(f"{k}={fmt_param(job.param(k))}" for k in sweep.swept) or " ".join(job.overrides) or "(defaults)"


# --- formatting ---------------------------------------------------------------------------------


def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value == 0 or 10**-digits <= abs(value) < 1e6:
            return f"{value:.{digits}f}"
        return f"{value:.2e}"
    return str(value)


def fmt_param(value: Any) -> str:
    """A swept value as a short string: floats to 4 significant digits."""
    return f"{value:.4g}" if isinstance(value, float) else "—" if value is None else str(value)


# --- sections -----------------------------------------------------------------------------------


def summary_section(sweep: Sweep) -> Section:
    counts = sweep.counts()
    order = ["completed", "failed", "interrupted", "running", "crashed", "refused", "stale", "foreign", "missing"]
    parts = [f"{counts[s]} {s}" for s in order if s in counts]
    if sweep.outside:
        parts.append(f"and {len(sweep.outside)} dirs that are not part of this sweep (listed apart)")
    expected = f" (the sweep defines {sweep.expected})" if sweep.expected is not None else ""
    total = sum((j.metrics or {}).get("wall_time_s") or 0.0 for j in sweep.jobs)
    blocks: list[Any] = [
        Para(f"Sweep dir `{display_dir(sweep)}`: **{len(sweep.jobs)} jobs**{expected}: {', '.join(parts)}."),
        Para(
            f"Sweeper: {sweep.sweeper}; swept: "
            + (", ".join(f"`{k}`" for k in sweep.swept) or "nothing")
            + f". Training time, summed over jobs: {total / 60:.1f} min."
        ),
        Para(
            "Objective: validation `sq_err_per_image` (squared error summed over an image's C·H·W values, "
            "averaged over images), the value aelab-train returns to the sweeper. Test numbers use each run's "
            "best-validation checkpoint."
        ),
    ]
    return Section("Summary", blocks)


def best_section(sweep: Sweep, best: Job | None) -> Section:
    if best is None:
        return Section("Best configuration", [Para("No completed run yet.")])
    m = best.metrics or {}
    rows = [
        ["job", str(best.num)],
        ["swept values", f"`{swept_values(best, sweep)}`"],
        ["val sq_err_per_image", fmt(best.metric("val"))],
        ["test sq_err_per_image", fmt(best.metric("test"))],
        ["test mse / bce", f"{fmt(best.metric('test', 'mse'), 5)} / {fmt(best.metric('test', 'bce'), 5)}"],
        ["epochs (best epoch)", f"{m.get('epochs_completed')} ({m.get('best_epoch')})"],
        ["wall time", f"{fmt(m.get('wall_time_s'), 1)} s"],
    ]
    blocks: list[Any] = [Table(["", "best run"], rows)]
    blocks += [Para("Train it alone:"), Code(train_command(sweep, best.overrides, multirun=False))]
    optuna = sweep.dir / "optimization_results.yaml"
    if optuna.exists():
        try:
            res = OmegaConf.load(optuna)
            value, params = OmegaConf.select(res, "best_value"), OmegaConf.select(res, "best_params")
            blocks.append(Para(f"Optuna's best trial: value {fmt(value)}, params `{params}`."))
        except Exception:
            pass
    return Section("Best configuration", blocks)


def results_section(sweep: Sweep) -> Section:
    headers = [
        "job",
        *sweep.swept,
        "status",
        "epochs",
        "val sq_err",
        "test sq_err",
        "test mse",
        "test bce",
        "wall s",
        "samples/s",
    ]
    rows = []
    for j in sweep.jobs:
        m = j.metrics or {}
        rows.append(
            [
                j.num,
                *[fmt_param(j.param(k)) for k in sweep.swept],
                j.status,
                m.get("epochs_completed"),
                fmt(j.metric("val")),
                fmt(j.metric("test")),
                fmt(j.metric("test", "mse"), 5),
                fmt(j.metric("test", "bce"), 5),
                fmt(m.get("wall_time_s"), 1),
                fmt(m.get("samples_per_s"), 0),
            ]
        )
    right = [True] + [False] * (len(sweep.swept) + 1) + [True] * 7
    return Section(
        "Results",
        [Para("One row per job; all columns (and the errors) are in `results.csv`."), Table(headers, rows, right)],
    )


def figure_section(title: str, path: Path | None, alt: str, empty: str) -> Section:
    return Section(title, [Image(path, alt)] if path is not None else [Para(empty)])


def gradflow_section(sweep: Sweep, figure: Path | None) -> Section:
    blocks: list[Any] = [
        Para(
            "How much of the error gradient reaches the first layer: ‖∂E/∂W⁽¹⁾‖ / ‖∂E/∂W⁽ᴸ⁾‖, the first weight "
            "layer (next to the input) over the last (the output layer), measured on a fixed batch of 256 "
            "validation images at initialisation and after epoch 1 (geometric mean over seeds). Far below 1: "
            "the gradient fades on its way back (the lecture's sigmoid); near 1 or above: it carries deep."
        )
    ]
    started = [j for j in sweep.jobs if (j.metrics or {}).get("grad_norms_init")]
    grid = grid_of(sweep.swept)
    activations, depths = grid.axes(started)
    if started and activations and depths:
        table = ratio_table(started, activations, depths, grid)
        rows = [
            [f"`{a}`", label, *[format_ratio(table[when][(a, d)]) for d in depths]]
            for a in activations
            for when, label in (("init", "init"), ("epoch1", "after epoch 1"))
        ]
        blocks.append(
            Table(
                [grid.row_title, "measured", *[grid.col_label(d) for d in depths]],
                rows,
                [False, False] + [True] * len(depths),
            )
        )
        deepest = depths[-1]
        at_init = {a: table["init"][(a, deepest)] for a in activations if table["init"][(a, deepest)] is not None}
        if len(at_init) > 1:
            lo, hi = min(at_init, key=at_init.get), max(at_init, key=at_init.get)  # type: ignore[arg-type]
            where = f"At depth {deepest}" if grid.col_key == "depth" else f"With {grid.col_label(deepest)}"
            blocks.append(
                Para(
                    f"{where}, at initialisation, the first layer gets the smallest share "
                    f"with `{lo}` ({format_ratio(at_init[lo])}) and the largest with `{hi}` "
                    f"({format_ratio(at_init[hi])})."
                )
            )
    else:
        blocks.append(Para("No run measured its gradients yet."))
    if figure is not None:
        blocks.append(Image(figure, "per-layer gradient norms at the largest depth"))
    return Section("Gradient flow", blocks)


def recon_section(sweep: Sweep, chosen: dict[str, Job], grids: dict[str, Path | str]) -> Section:
    if not chosen:
        return Section("Reconstructions", [Para("No completed run: nothing to reconstruct.")])
    blocks: list[Any] = [
        Para(
            "The first 16 test images (top row) and their reconstructions (bottom row), with each run's best "
            "checkpoint; then what its first layer learned to look for: each unit's input weights as an image "
            "(a convolution's kernels as small tiles), scaled per unit, zero mid-grey."
        )
    ]
    for label, job in chosen.items():
        if label not in grids:
            continue
        blocks.append(Para(chosen_line(label, job, sweep)))
        for key, what in ((label, "reconstructions"), (f"features_{label}", "first-layer features")):
            grid = grids.get(key)
            if isinstance(grid, Path):
                blocks.append(Image(grid, f"{what} of the {label.replace('_', ' on ')} run"))
            elif grid is not None:
                blocks.append(Para(f"({what} not drawn: {grid})"))
    return Section("Reconstructions and features", blocks)


def problems_section(sweep: Sweep) -> Section:
    bad = [j for j in sweep.jobs if not j.completed]
    if not bad:
        return Section("Failed and missing jobs", [Para(f"None: all {len(sweep.jobs)} jobs completed.")])
    rows = [
        [j.num, j.status, f"`{swept_values(j, sweep)}`", j.error or "", j.dir.name + "/" if j.dir else "—"] for j in bad
    ]
    blocks: list[Any] = [Table(["job", "status", "swept values", "error", "dir"], rows)]
    blocks.append(Para("Re-run only these (completed jobs are skipped) with the `skip_done=true` command below."))
    return Section("Failed and missing jobs", blocks)


def outside_section(sweep: Sweep) -> Section:
    rows = [[f"`{j.dir.name}/`" if j.dir else "—", j.error or ""] for j in sweep.outside]
    return Section(
        "Not part of this sweep",
        [
            Para(
                "Dirs in the sweep dir that are not its jobs: no job number, a number beyond the sweep's grid, "
                "or a second dir of one job. They are in no table, figure or count above."
            ),
            Table(["dir", "why"], rows),
        ],
    )


def chosen_line(label: str, job: Job, sweep: Sweep) -> str:
    """The line naming a chosen run (``best``, ``worst``, ``best_<dataset>``) above its pictures."""
    which, _, dataset = label.partition("_")
    return (
        f"**{which.capitalize()}** completed run{f' on {dataset}' if dataset else ''}, job {job.num} "
        f"(`{swept_values(job, sweep)}`): test sq_err_per_image {fmt(job.metric('test'))}."
    )


def code_space_section(sweep: Sweep, chosen: dict[str, Job], codes: dict[str, Path | str], drawn: bool) -> Section:
    """The code space of the runs the reconstructions show (:mod:`.codes`); not drawn when the report
    draws no images (``recon``: they need the dataset)."""
    if not drawn or not chosen:
        return Section(
            "Code space", [Para("No completed run." if drawn else "Not drawn (reconstruction grids turned off).")]
        )
    return code_section(chosen, codes, {label: chosen_line(label, job, sweep) for label, job in chosen.items()})


__all__ = ["NoJobsError", "ReportResult", "best_and_worst", "build_report"]
