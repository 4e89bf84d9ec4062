"""The gradient-flow chart of a run (or of every run in a sweep), from its TensorBoard event files.

    aelab-export-gradflow <run dir | sweep dir> [--out gradflow.png] [--prefix grad_norm/]

Reads the TensorBoard event files under the folder (every ``tb/`` below it is one run) with
TensorBoard's EventAccumulator and plots ``grad_norm/<layer>`` (‖∂E/∂W‖ of each weight layer,
which TensorBoard holds as its log10: :mod:`aelab.loggers.tensorboard.tags`) against the training
step on a log axis, one line per layer from the first layer (dark) to the
last (light), one panel per run, all panels on one y-scale. ``--prefix delta_norm/`` plots the
error signals ‖δ‖ instead, ``--prefix saturation/`` the saturated/dead-unit fractions (linear axis).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path


def find_runs(root: Path) -> list[Path]:
    """The folders under ``root`` (or ``root`` itself) that hold event files, in natural order
    (job 2 before job 10)."""
    return sorted({p.parent for p in root.rglob("events.out.tfevents.*")}, key=_natural)


def _natural(path: Path) -> list[object]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(path))]


def read_series(log_dir: Path, prefix: str) -> dict[str, tuple[list[int], list[float]]]:
    """``{layer: (steps, values)}`` of the measured quantity ``prefix`` (``grad_norm/``), layer order:
    read from its TensorBoard tags (a log10 turned back into the value), or from tags named
    ``prefix`` itself (event files that hold the plain values)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from aelab.loggers.tensorboard.tags import is_log10, tb_tag

    acc = EventAccumulator(
        str(log_dir),
        size_guidance={"scalars": 0, "histograms": 1, "images": 1, "tensors": 1, "compressedHistograms": 1},
    )
    acc.Reload()
    tags = acc.Tags()["scalars"]
    shown = tb_tag(prefix)
    if not any(t.startswith(shown) for t in tags):
        shown = prefix
    series = {}
    for tag in sorted(t for t in tags if t.startswith(shown)):
        events = acc.Scalars(tag)
        values = [10**e.value if is_log10(tag) else e.value for e in events]
        series[tag[len(shown) :]] = ([e.step for e in events], values)
    return series


def run_title(log_dir: Path, root: Path) -> str:
    """The run's folder relative to ``root`` and, from its metrics.json, what it trained."""
    run_dir = log_dir.parent if log_dir.name == "tb" else log_dir
    name = str(run_dir.relative_to(root)) if run_dir != root else run_dir.name
    try:
        config = json.loads((run_dir / "metrics.json").read_text())["hparams"]
        m = config["model"]
        return f"{name}: {m['family']} {m['activation']}, depth {m['depth']}{family_keys(config)}"
    except (OSError, ValueError, KeyError, TypeError):
        return name


def family_keys(config: dict) -> str:
    """``, width 256``: the HPARAMS columns the run's family declares, with its values."""
    from aelab.config.convert import lookup
    from aelab.loggers.hparams import columns

    family = config["model"]["family"]
    own = [col for col in columns(families=[family]).values() if f"model={family}" in col.applies]
    return "".join(f", {col.name} {value}" for col in own if (value := lookup(config, col.path)) is not None)


def plot(runs: list[tuple[str, dict]], prefix: str, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(runs)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.4 * cols, 4.4 * rows), sharey=True, squeeze=False)
    log_scale = not prefix.startswith("saturation")
    quantity = {
        "grad_norm/": "‖∂E/∂W‖ (gradient norm)",
        "delta_norm/": "‖δ‖ (error signal)",
        "weight_norm/": "‖W‖",
        "saturation/": "saturated / dead units",
    }.get(prefix, prefix)
    for ax, (title, series) in zip(axes.flat, runs):
        cmap = plt.get_cmap("viridis")
        for i, (layer, (steps, values)) in enumerate(series.items()):
            color = cmap(i / max(len(series) - 1, 1) * 0.9)
            ax.plot(steps, values, color=color, lw=1.6, label=layer)
        if log_scale:
            ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("training step")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(
            fontsize=7,
            ncol=1 if len(series) <= 20 else 2,
            title="layer",
            title_fontsize=7,
            loc="center left",
            bbox_to_anchor=(1.01, 0.5),
            frameon=False,
        )
    for ax in axes[:, 0]:
        ax.set_ylabel(quantity)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.suptitle(f"Gradient flow: {quantity} per layer during training", fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.94))  # room for the figure's title above the panels' own
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def export(path: Path, out: Path | None = None, prefix: str = "grad_norm/") -> tuple[Path, int]:
    """Draw ``prefix`` scalars of every run under ``path``; return (the PNG, the number of runs).
    Raises FileNotFoundError when ``path`` is no directory or holds no such scalars."""
    root = path.resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"{path} is not a directory")
    runs = []
    for log_dir in find_runs(root):
        series = read_series(log_dir, prefix)
        if series:
            runs.append((run_title(log_dir, root), series))
    if not runs:
        raise FileNotFoundError(
            f"no '{prefix}*' scalars in event files under {path} (was the run trained with "
            "logging.loggers=[tensorboard] and logging.grad_flow=true?)"
        )
    # the default name says what is drawn, so another --prefix never overwrites gradflow.png
    out = out or root / ("gradflow.png" if prefix == "grad_norm/" else f"gradflow_{prefix.strip('/')}.png")
    plot(runs, prefix, out)
    return out, len(runs)


__all__ = ["export", "find_runs", "plot", "read_series", "run_title"]
