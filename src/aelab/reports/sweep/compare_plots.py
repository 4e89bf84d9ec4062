"""The figure only a comparison of runs draws: each run's gradient flow side by side."""

from __future__ import annotations

import math
from pathlib import Path

from aelab.reports.sweep.collect import Job
from aelab.reports.sweep.gradflow import norms_at
from aelab.reports.sweep.plots import _pyplot, _save


def gradient_flow_by_run(jobs: list[Job], labels: list[str], path: str | Path) -> Path | None:
    """‖∂E/∂W‖ per layer on the probe batch, at initialisation and after epoch 1, one line per run
    (log y). The x-axis is the layers' names (:func:`aelab.models.base.layer_names`) of all the runs
    in forward order, so runs of different depths meet at the layers of the same role (the first
    layer, the code, the output layer)."""
    drawn = [(job, label) for job, label in zip(jobs, labels) if norms_at(job, "init")]
    if not drawn:
        return None
    names = sorted({name for job, _ in drawn for name in norms_at(job, "init") or {}})
    place = {name: i for i, name in enumerate(names)}
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(max(10, 0.45 * len(names) + 4), 3.8), sharey=True)
    colors = plt.get_cmap("tab10")
    for ax, when, title in zip(axes, ("init", "epoch1"), ("at initialisation", "after epoch 1")):
        for i, (job, label) in enumerate(drawn):
            norms = norms_at(job, when) or {}
            xs = [place[n] for n in norms if n in place]
            ys = [v if v and math.isfinite(v) and v > 0 else math.nan for n, v in norms.items() if n in place]
            if xs:
                ax.plot(xs, ys, "o-", color=colors(i % 10), label=label, markersize=4)
        ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3, which="both")
        ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
        ax.set_xlabel("weight layer (next to the input … the output layer)")
    axes[0].set_ylabel("‖∂E/∂W‖ (probe batch)")
    axes[1].legend(fontsize=8)
    fig.suptitle("Gradient flow of each run", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


__all__ = ["gradient_flow_by_run"]
