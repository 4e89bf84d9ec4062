"""results.csv: one row per job (found, failed or missing), the swept values as their own columns."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from aelab.files import write_text
from aelab.reports.sweep.collect import Job, Sweep
from aelab.reports.sweep.gradflow import job_ratios

METRIC_COLUMNS = [f"{split}_{name}" for split in ("val", "test") for name in ("sq_err_per_image", "mse", "bce")]


def job_row(job: Job, swept: list[str]) -> dict[str, Any]:
    m = job.metrics or {}
    ratio_init, ratio_epoch1 = job_ratios(job)
    row: dict[str, Any] = {"job": job.num, "status": job.status}
    row.update({key: _plain(job.param(key)) for key in swept})
    row["overrides"] = " ".join(job.overrides)
    row["epochs_completed"] = m.get("epochs_completed")
    row["best_epoch"] = m.get("best_epoch")
    for column in METRIC_COLUMNS:
        split, name = column.split("_", 1)
        row[column] = job.metric(split, name)
    row["wall_time_s"] = _round(m.get("wall_time_s"), 2)
    row["samples_per_s"] = _round(m.get("samples_per_s"), 1)
    row["grad_ratio_init"] = ratio_init
    row["grad_ratio_epoch1"] = ratio_epoch1
    norms = m.get("grad_norms_init") or {}
    row["grad_norms_init"] = ";".join(f"{k}={v:.3g}" for k, v in norms.items())
    row["error"] = job.error or ""
    row["dir"] = str(job.dir) if job.dir is not None else ""
    return row


def rows(sweep: Sweep) -> list[dict[str, Any]]:
    return [job_row(job, sweep.swept) for job in sweep.jobs]


def write_results_csv(sweep: Sweep, path: str | Path) -> Path:
    """Write (atomically) and return ``path``: the sweep's results, one row per job."""
    table = rows(sweep)
    columns = list(table[0]) if table else ["job", "status"]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in table:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return write_text(path, buf.getvalue())


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def _round(value: Any, digits: int) -> Any:
    return round(float(value), digits) if isinstance(value, (int, float)) else value


__all__ = ["METRIC_COLUMNS", "job_row", "rows", "write_results_csv"]
