#!/usr/bin/env python
"""The docs' example sweep, measured and written by a script so its figures cannot go stale.

    python scripts/example_sweep.py                     # run the quick sweep (about 2 min on 2 cores), update
    python scripts/example_sweep.py --collect DIR       # use a finished sweep dir instead of running one

Runs ``aelab-train -m experiment=sweep_activation_depth_quick hydra/launcher=joblib`` into a new
sweep dir (timing the whole command, report included), then writes ``docs/example_sweep.json``
(every job's test error and gradient-flow ratios, the wall time, the machine), copies the report's
heatmap and gradient-flow figures to ``docs/img/``. The site renders the block of
``docs/how-to/sweeps.md`` from the JSON with :func:`render` when it is built (docs/hooks/measured.py),
so the page holds exactly what was measured.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
JSON = REPO / "docs" / "example_sweep.json"
COMMAND = ["-m", "experiment=sweep_activation_depth_quick", "hydra/launcher=joblib"]


def measure(sweep_dir: Path, wall_s: float | None) -> dict:
    """What the docs say about the sweep, from its report's inputs."""
    from aelab.hardware import cpu_name, n_cpus
    from aelab.reports.sweep.collect import activation_depth_axes, collect_sweep
    from aelab.reports.sweep.gradflow import ratio_table

    sweep = collect_sweep(sweep_dir)
    done = [j for j in sweep.jobs if j.completed]
    activations, depths = activation_depth_axes(done)
    test = {f"{a}/{d}": j.metric("test") for j in done for a, d in [(j.param("activation"), j.param("depth"))]}
    ratios = ratio_table(done, activations, depths)
    return {
        "command": "aelab-train " + " ".join(COMMAND),
        "machine": f"a {n_cpus()}-core {cpu_name()}",
        "date": dt.date.today().isoformat(),
        "wall_time_s": wall_s,
        "train_time_s": sum((j.metrics or {}).get("wall_time_s") or 0 for j in done),
        "jobs": len(sweep.jobs),
        "completed": len(done),
        "activations": activations,
        "depths": depths,
        "test": test,
        "ratio": {when: {f"{a}/{d}": v for (a, d), v in table.items()} for when, table in ratios.items()},
    }


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 60 else f"{seconds // 60:.0f} min {seconds % 60:.0f} s"


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}" if 0.01 <= value < 100 else f"{value:.1e}"


def render(m: dict) -> str:
    """The docs' block: the command, the time, the findings as numbers, the ratio table."""
    test, acts, depths = m["test"], m["activations"], m["depths"]
    best = min(test, key=test.get)
    best_a, best_d = best.split("/")
    per_depth = {d: min((a for a in acts if f"{a}/{d}" in test), key=lambda a: test[f"{a}/{d}"]) for d in depths}
    wall = m["wall_time_s"]
    lines = [
        "```bash",
        f"{m['command']} \\",
        "    hydra.sweep.dir=outputs/multirun/quick_example",
        "```",
        "",
        f"{m['jobs']} runs ({len(acts)} activations × depths {', '.join(map(str, depths))}; seed 0; 5,000 training and "
        f"2,000 validation/test images; 3 epochs; width 128; Adam, lr 1e-3) on {m['machine']}, {m['date']}: "
        + (
            f"**{_duration(wall)}** wall time with the joblib launcher (2 jobs at a time), report included; "
            if wall
            else ""
        )
        + f"{m['train_time_s'] / 60:.1f} min of training summed over the jobs.",
        "",
        "![Test error over activation x depth](docs/img/sweep_heatmap.png)",
        "",
        f"Depth 1 is the linear autoencoder (784-30-784, no hidden activation), hence one value for all "
        f"{len(acts)} activations ({_fmt(test.get(f'{acts[0]}/1'))}). After 3 epochs the best run is `{best_a}` at "
        f"depth {best_d} (test {_fmt(test[best])}); by depth the best activation is "
        + ", ".join(f"`{per_depth[d]}` at {d} ({_fmt(test[f'{per_depth[d]}/{d}'])})" for d in depths)
        + ". The gradient-flow ratio from the same report, ‖∂E/∂W⁽¹⁾‖ / ‖∂E/∂W⁽ᴸ⁾‖ (first weight layer over "
        "the output layer, on 256 validation images):",
        "",
        "| activation | measured | " + " | ".join(f"depth {d}" for d in depths) + " |",
        "|---|---|" + "---:|" * len(depths),
    ]
    for a in acts:
        for when, label in (("init", "init"), ("epoch1", "after epoch 1")):
            lines.append(
                f"| `{a}` | {label} | " + " | ".join(_fmt(m["ratio"][when].get(f"{a}/{d}")) for d in depths) + " |"
            )
    deep = max(depths)
    if "sigmoid" in acts and "relu" in acts:
        lines += [
            "",
            f"The lecture's claim as a number: through {2 * deep} sigmoid layers the first layer gets "
            f"{_fmt(m['ratio']['init'].get(f'sigmoid/{deep}'))} of the output layer's gradient at "
            f"initialisation, through {2 * deep} ReLU layers {_fmt(m['ratio']['init'].get(f'relu/{deep}'))}.",
        ]
    lines += ["", "![Gradient flow at depth 8](docs/img/sweep_gradflow.png)"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--collect", type=Path, help="a finished sweep dir of the same command (no wall time)")
    parser.add_argument("--sweep-dir", type=Path, default=None, help="where to run it (default: a new temp dir)")
    args = parser.parse_args(argv)
    if args.collect:
        sweep_dir, wall = args.collect, None
    else:
        sweep_dir = args.sweep_dir or Path(os.environ.get("TMPDIR", "/tmp")) / f"aelab_example_{int(time.time())}"
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(REPO / "scripts" / "train.py"), *COMMAND, f"hydra.sweep.dir={sweep_dir}"], cwd=REPO
        )
        wall = time.perf_counter() - start
        if proc.returncode:
            return proc.returncode
    m = measure(sweep_dir, wall)
    if m["completed"] != m["jobs"]:
        print(f"only {m['completed']} of {m['jobs']} jobs completed; nothing written", file=sys.stderr)
        return 1
    JSON.write_text(json.dumps(m, indent=2) + "\n")
    for name in ("heatmap", "gradflow"):
        shutil.copyfile(sweep_dir / "report_files" / f"{name}.png", REPO / "docs" / "img" / f"sweep_{name}.png")
    print(f"wrote {JSON}, docs/img/sweep_heatmap.png and docs/img/sweep_gradflow.png ({sweep_dir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
