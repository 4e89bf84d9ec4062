#!/usr/bin/env python
"""Does running a sweep's jobs side by side fill the machine? Sequential vs concurrent, alternating.

    python scripts/bench_sweep.py [--jobs 4] [--rounds 3] [--device cuda] [override ...]

Each round runs the same Hydra multirun twice, in a fresh temporary sweep dir each time:

* **sequential**: the basic launcher, one job after another in one process (what ``-m`` does);
* **concurrent**: ``hydra/launcher=joblib hydra.launcher.n_jobs=<jobs>``, every job on ``--device``.

The order alternates between rounds, so slow drifts in machine load hit both. Both are whole
``python scripts/train.py -m ...`` commands, timed from start to exit (Python, CUDA and Hydra
start-up included, the end-of-sweep report switched off). Throughput is jobs per minute; the
script prints the median wall time of each and the median of the per-round ratios
sequential / concurrent (> 1: concurrency pays). A round that exits non-zero or whose jobs did not
all complete stops the benchmark with exit status 1.

The default sweep is ``experiment=sweep_activation_depth_quick`` (16 jobs); extra arguments are
Hydra overrides added to both commands, e.g. ``depth=1,2 activation=relu`` for a smaller grid.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRAIN = REPO / "scripts" / "train.py"


def run_sweep(sweep_dir: Path, overrides: list[str], jobs: int, device: str) -> tuple[float, int, int, int]:
    """One multirun as a subprocess → (wall seconds, jobs completed, jobs found, exit status)."""
    launcher = ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={jobs}"] if jobs > 1 else []
    cmd = [
        sys.executable,
        str(TRAIN),
        "-m",
        *overrides,
        *launcher,
        f"device={device}",
        "trainer.progress=false",
        "hydra.callbacks.report.enabled=false",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
    found = sorted(sweep_dir.glob("*/metrics.json"))
    done = sum(json.loads(p.read_text()).get("status") == "completed" for p in found)
    return wall, done, len(found), proc.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=4, help="concurrent jobs (joblib n_jobs), >= 2")
    parser.add_argument("--rounds", type=int, default=3, help="A/B rounds; the median is reported")
    parser.add_argument("--device", default="auto", help="device of every job: auto|cpu|cuda")
    parser.add_argument("--preset", default="sweep_activation_depth_quick", help="experiment=<preset>")
    parser.add_argument("--json", type=Path, help="also write the timings to this file")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for both runs")
    args = parser.parse_args(argv)
    if args.jobs < 2:
        parser.error(f"--jobs must be >= 2 to compare with sequential, got {args.jobs}")
    if args.rounds < 1:
        parser.error(f"--rounds must be >= 1, got {args.rounds}")
    device = args.device
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    overrides = [f"experiment={args.preset}", *args.overrides]
    env_note = f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
    print(
        f"sweep: {' '.join(overrides)} | device {device} | concurrent n_jobs={args.jobs} | "
        f"{os.cpu_count()} CPUs, {env_note}",
        flush=True,
    )

    walls: dict[str, list[float]] = {"sequential": [], "concurrent": []}
    ratios: list[float] = []
    n_jobs_total = 0
    with tempfile.TemporaryDirectory(prefix="aelab_bench_sweep_") as tmp:
        for r in range(args.rounds):
            order = ("sequential", "concurrent") if r % 2 == 0 else ("concurrent", "sequential")
            this_round: dict[str, float] = {}
            for mode in order:
                jobs = 1 if mode == "sequential" else args.jobs
                wall, done, found, rc = run_sweep(Path(tmp) / f"{mode}{r}", overrides, jobs, device)
                # a short sweep (a dead worker, an aborted multirun) would inflate jobs/min
                if rc != 0 or found == 0 or done != found or (n_jobs_total and found != n_jobs_total):
                    print(
                        f"round {r + 1} {mode}: exit {rc}, {done} of {found} jobs completed"
                        f"{f' (expected {n_jobs_total})' if n_jobs_total else ''}; stopping",
                        file=sys.stderr,
                    )
                    return 1
                n_jobs_total = found
                walls[mode].append(wall)
                this_round[mode] = wall
                print(
                    f"round {r + 1} {mode:10s} {found} jobs in {wall:7.1f} s  ({60 * found / wall:6.1f} jobs/min)",
                    flush=True,
                )
            ratios.append(this_round["sequential"] / this_round["concurrent"])

    seq, conc = statistics.median(walls["sequential"]), statistics.median(walls["concurrent"])
    print(f"\nmedian of {args.rounds} rounds, {n_jobs_total} jobs each:")
    for label, wall in (("sequential", seq), (f"concurrent (n={args.jobs})", conc)):
        print(f"  {label:18s} {wall:7.1f} s  {60 * n_jobs_total / wall:6.1f} jobs/min")
    ratio = statistics.median(ratios)
    print(
        f"  throughput ratio concurrent/sequential: {ratio:.2f}x, the median of the per-round ratios "
        f"{', '.join(f'{x:.2f}' for x in ratios)}"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "overrides": overrides,
                    "device": device,
                    "jobs": args.jobs,
                    "n_jobs_total": n_jobs_total,
                    "walls_s": walls,
                    "ratios": ratios,
                    "ratio": ratio,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
