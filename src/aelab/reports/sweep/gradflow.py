"""The lecture's vanishing-gradient claim as a number: ‖∂E/∂W^(1)‖ / ‖∂E/∂W^(L)‖ per run.

W^(1) is the first weight layer (next to the input, farthest from the loss), W^(L) the last (the
output layer). A ratio far below 1 means the gradient fades on its way back through the net (the
lecture's sigmoid); near 1 it reaches the first layer intact (ReLU). Measured by ``train(cfg)`` on a
fixed validation batch at initialisation (``grad_norms_init``) and after every epoch
(``history[i].grad_norms``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from aelab.gradflow import first_last_ratio
from aelab.reports.sweep.collect import ACTIVATION_DEPTH, Grid, Job


def norms_at(job: Job, when: str) -> dict[str, float] | None:
    """Per-layer norms at ``init`` or after ``epoch1`` (None where the run did not get there)."""
    m = job.metrics or {}
    if when == "init":
        return m.get("grad_norms_init")
    history = m.get("history") or []
    return history[0].get("grad_norms") if history else None


def job_ratios(job: Job) -> tuple[float | None, float | None]:
    return first_last_ratio(norms_at(job, "init")), first_last_ratio(norms_at(job, "epoch1"))


def geometric_mean(values: Iterable[float]) -> float | None:
    vals = [v for v in values if v is not None and v > 0 and math.isfinite(v)]
    return math.exp(sum(map(math.log, vals)) / len(vals)) if vals else None


def ratio_table(
    jobs: list[Job], rows: list[str], cols: list[Any], grid: Grid = ACTIVATION_DEPTH
) -> dict[str, dict[tuple[str, Any], float | None]]:
    """``{"init"|"epoch1": {(row, col): geometric mean of the ratio over seeds}}`` on ``grid``
    (by default activation × depth)."""
    acc: dict[str, dict[tuple[str, Any], list[float]]] = {"init": defaultdict(list), "epoch1": defaultdict(list)}
    for job in jobs:
        col = grid.col(job)
        if col is None:
            continue
        key = (grid.row(job), col)
        for when, ratio in zip(("init", "epoch1"), job_ratios(job)):
            if ratio is not None:
                acc[when][key].append(ratio)
    return {
        when: {(r, c): geometric_mean(acc[when].get((r, c), [])) for r in rows for c in cols}
        for when in ("init", "epoch1")
    }


def format_ratio(value: float | None) -> str:
    if value is None:
        return "—"
    if 0.01 <= value < 100:
        return f"{value:.2f}"
    return f"{value:.1e}"


__all__ = ["first_last_ratio", "format_ratio", "geometric_mean", "job_ratios", "norms_at", "ratio_table"]
