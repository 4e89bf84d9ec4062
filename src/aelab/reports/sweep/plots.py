"""The sweep's figures (matplotlib, Agg): error heatmap, learning curves, gradient flow.

Each function takes the sweep's jobs, a PNG path and the sweep's :class:`Grid` (rows × columns:
activation × depth for the lecture's sweep, ae × activation for ``ae=… activation=…``), draws
what the completed (or, for gradient flow at initialisation, started) runs allow, and returns the
path, or None when there is nothing to draw. Repeated seeds are averaged: mean ± std for errors,
geometric mean for gradient norms.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from aelab.files import write_atomic
from aelab.reports.sweep.collect import ACTIVATION_DEPTH, Grid, Job, finite
from aelab.reports.sweep.gradflow import geometric_mean, norms_at

DPI = 130


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=DPI, bbox_inches="tight"))
    _pyplot().close(fig)
    return path


def heatmap(jobs: list[Job], path: str | Path, grid: Grid = ACTIVATION_DEPTH, split: str = "test") -> Path | None:
    """``split`` sq_err_per_image over the grid's rows × columns, mean ± std over seeds."""
    done = [j for j in jobs if j.completed and finite(j.metric(split))]
    if not done:
        return None
    activations, depths = grid.axes(done)
    cells: dict[tuple[str, Any], list[float]] = defaultdict(list)
    for j in done:
        depth, value = grid.col(j), j.metric(split)
        if depth is not None and value is not None:
            cells[(grid.row(j), depth)].append(value)
    mean = [[statistics.fmean(cells[(a, d)]) if cells[(a, d)] else math.nan for d in depths] for a in activations]
    n_max = max(len(v) for v in cells.values())

    plt = _pyplot()
    import numpy as np

    data = np.array(mean, dtype=float)
    fig, ax = plt.subplots(figsize=(1.5 + 1.25 * len(depths), 1.2 + 0.75 * len(activations)))
    cmap = plt.get_cmap("viridis_r").copy()
    cmap.set_bad("#dddddd")
    finite_vals = data[np.isfinite(data)]
    lo, hi = float(finite_vals.min()), float(finite_vals.max())
    im = ax.imshow(np.ma.masked_invalid(data), cmap=cmap, vmin=lo, vmax=hi if hi > lo else lo + 1, aspect="auto")
    for i, a in enumerate(activations):
        for k, d in enumerate(depths):
            vals = cells[(a, d)]
            if not vals:
                ax.text(k, i, "no run", ha="center", va="center", fontsize=8, color="#555555")
                continue
            text = f"{statistics.fmean(vals):.1f}"
            if len(vals) > 1:
                text += f"\n±{statistics.stdev(vals):.1f}"
            if len(vals) != n_max:
                text += f"\n(n={len(vals)})"
            shade = (data[i, k] - lo) / (hi - lo) if hi > lo else 0.0
            ax.text(k, i, text, ha="center", va="center", fontsize=9, color="white" if shade > 0.55 else "black")
    ax.set_xticks(range(len(depths)), [str(d) for d in depths])
    ax.set_yticks(range(len(activations)), activations)
    ax.set_xlabel(grid.col_title)
    ax.set_ylabel(grid.row_title)
    seeds = f"mean ± std over {n_max} runs per cell" if n_max > 1 else "one run per cell"
    ax.set_title(f"{split.capitalize()} squared error per image ({seeds})", fontsize=10)
    fig.colorbar(im, ax=ax, label="sq_err_per_image (lower is better)", fraction=0.05, pad=0.03)
    return _save(fig, path)


def learning_curves(jobs: list[Job], path: str | Path, grid: Grid = ACTIVATION_DEPTH) -> Path | None:
    """Validation sq_err_per_image per epoch: one panel per row of the grid (activation), one line
    per column (depth)."""
    runs = [j for j in jobs if (j.metrics or {}).get("history")]
    if not runs:
        return None
    activations, depths = grid.axes(runs)
    plt = _pyplot()
    colors = plt.get_cmap("viridis")([0.9 * i / max(1, len(depths) - 1) for i in range(len(depths))])
    fig, axes = plt.subplots(
        1, len(activations), figsize=(3.3 * len(activations) + 0.5, 3.3), sharey=True, squeeze=False
    )
    any_failed = False
    last_epoch = max(int(rec["epoch"]) for j in runs for rec in j.metrics["history"])  # type: ignore[index]
    from matplotlib.ticker import MaxNLocator

    for ax, a in zip(axes[0], activations):
        for color, d in zip(colors, depths):
            curves: dict[int, list[float]] = defaultdict(list)
            for j in runs:
                if grid.row(j) == a and grid.col(j) == d:
                    any_failed |= not j.completed
                    for rec in j.metrics["history"]:  # type: ignore[index]
                        v = (rec.get("val") or {}).get("sq_err_per_image")
                        if v is not None and finite(v):
                            curves[int(rec["epoch"])].append(float(v))
            if curves:
                epochs = sorted(curves)
                ax.plot(
                    epochs,
                    [statistics.fmean(curves[e]) for e in epochs],
                    "o-",
                    color=color,
                    label=grid.col_label(d),
                    markersize=4,
                )
        ax.set_title(a, fontsize=10)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        if last_epoch <= 12:
            ax.set_xticks(range(1, last_epoch + 1))
            ax.set_xlim(0.7, last_epoch + 0.3)
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0][0].set_ylabel("val sq_err_per_image")
    axes[0][-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    per_cell = Counter((grid.row(j), grid.col(j)) for j in runs)
    repeats = max(per_cell.values())
    title = (
        f"Validation error per epoch (mean over {repeats} runs per line)"
        if repeats > 1
        else "Validation error per epoch (one run per line)"
    )
    if any_failed:
        title += "; failed runs up to their last epoch"
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def gradient_flow(jobs: list[Job], path: str | Path, grid: Grid = ACTIVATION_DEPTH) -> Path | None:
    """‖∂E/∂W‖ per layer, first → last, at init and after epoch 1, one line per row of the grid
    (activation), at the largest depth the runs reached (log y)."""
    runs = [j for j in jobs if norms_at(j, "init")]
    if not runs:
        return None
    depths = sorted({d for d in (ACTIVATION_DEPTH.col(j) for j in runs) if isinstance(d, int)})
    depth = max(depths) if depths else None
    runs = [j for j in runs if ACTIVATION_DEPTH.col(j) == depth]
    lines = Grid(tuple(k for k in (*grid.row_keys, grid.col_key) if k != "depth") or ("activation",), "depth")
    activations, _ = lines.axes(runs)
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    colors = plt.get_cmap("tab10")
    layer_names: list[str] = []
    seen: set[tuple[str, ...]] = set()  # each line's layers: families differ in their count
    for ax, when, title in zip(axes, ("init", "epoch1"), ("at initialisation", "after epoch 1")):
        for i, a in enumerate(activations):
            per_layer: dict[str, list[float]] = defaultdict(list)
            for j in runs:
                norms = norms_at(j, when) if lines.row(j) == a else None
                for name, v in (norms or {}).items():
                    per_layer[name].append(float(v))
            if not per_layer:
                continue
            names = list(per_layer)
            seen.add(tuple(names))
            layer_names = names if len(names) > len(layer_names) else layer_names
            ys = [geometric_mean(per_layer[n]) for n in names]
            ax.plot(
                range(1, len(names) + 1),
                [y if y else math.nan for y in ys],
                "o-",
                color=colors(i % 10),
                label=a,
                markersize=4,
            )
        ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3, which="both")
    one = len(seen) == 1  # every line has the same layers: mark its code layer
    every = max(1, math.ceil(len(layer_names) / 20))  # at most about 20 ticks
    labels = [
        f"{i}\ncode" if one and name.endswith("code") else str(i) if (i - 1) % every == 0 else ""
        for i, name in enumerate(layer_names, 1)
    ]
    for ax in axes:
        ax.set_xlabel(
            f"weight layer: 1 (next to the input) … {'L' if not layer_names or not one else len(layer_names)}"
        )
        if layer_names:
            ax.set_xticks(range(1, len(layer_names) + 1), labels, fontsize=8)
    axes[0].set_ylabel("‖∂E/∂W‖ (probe batch)")
    axes[1].legend(fontsize=8)
    count = f" ({len(layer_names)} weight layers)" if one and layer_names else " (each line to its output layer)"
    fig.suptitle(f"Gradient flow at depth {depth}{count}", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


__all__ = ["gradient_flow", "heatmap", "learning_curves"]
