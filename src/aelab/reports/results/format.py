"""The cells and lines every results table renders the same way: numbers, durations, ratios, the
Epochs cell and the "Generated … by `command`" line (with the earlier commands whose rows it kept)."""

from __future__ import annotations

import math
from typing import Any

from aelab.reports.render import Para

N_TRAIN = 55_000  # MNIST training images (the other 5,000 of the 60,000 are the validation set)


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


def fmt_ratio(x: float | None) -> str:
    """Two significant digits (``0.30``, ``0.41``, ``1.0``), whole numbers from 10 (``12``, ``340``);
    ``3.4e-05`` outside [0.01, 1000)."""
    if x is None or not math.isfinite(x):
        return "—"
    if 0.01 <= abs(x) < 10:
        return f"{x:#.2g}".rstrip(".")  # 0.30, not 0.3 (and 9.99 -> 10)
    return f"{x:.0f}" if 10 <= abs(x) < 1000 else f"{x:.1e}"


def epochs_cell(row: dict[str, Any]) -> str:
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


def label_key(key: str) -> str:
    """A transfer key as a column says it: ``1,000``, ``all``."""
    return "all" if key == "all" else f"{int(key):,}"


def transfer_keys(settings: dict[str, Any]) -> list[str]:
    """The transfer keys of a table's settings: ``["100", "1000", "all"]``."""
    return ["all" if n is None else str(n) for n in settings["transfer_labels"]]


def transfer_cell(transfer: dict[str, Any], key: str) -> str:
    """``0.700 / 0.760``: frozen / scratch accuracy with ``key`` labels, or "—"."""
    return f"{fmt(transfer[key]['frozen'])} / {fmt(transfer[key]['scratch'])}" if key in transfer else "—"


def label_cell(row: dict[str, Any]) -> str:
    """The row's label, or ``label — **failed**: error``."""
    return row["label"] if not row.get("error") else f"{row['label']} — **failed**: {row['error']}"


def n_of(value: int | None, total: int) -> str:
    """How many of ``total`` a measurement used (``None``: all of them), as ``10,000``."""
    return f"{total:,}" if value is None else f"{min(value, total):,}"


def plural(values: list[Any], fallback: Any, unit: str) -> str:
    """``20 epochs``, ``1 epoch``, ``10 / 3 epochs`` from the distinct ``values`` (else ``fallback``)."""
    text = " / ".join(str(v) for v in values) if values else str(fallback)
    return f"{text} {unit}" if text != "1" else f"{text} {unit.rstrip('s')}"


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
        if measured and (measured.get("created"), measured.get("command")) != (
            results["created"],
            results.get("command"),
        ):
            earlier.setdefault((measured.get("created") or "?", measured.get("command") or "?"), []).append(r["method"])
    for (created, command), methods in sorted(earlier.items()):
        line += f" Kept from {created} (`{command}`): {', '.join(methods)}."
    return line


def generated(results: dict[str, Any], measured: str = "the measurements") -> list[Any]:
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


__all__ = [
    "N_TRAIN",
    "epochs_cell",
    "fmt",
    "fmt_duration",
    "fmt_ratio",
    "generated",
    "label_cell",
    "label_key",
    "n_of",
    "plural",
    "transfer_cell",
    "transfer_keys",
]
