#!/usr/bin/env python
"""How long aelab-train takes to answer (a benchmark, not a test).

    python scripts/bench_startup.py [--repeats 5]

Each case is the console command in a fresh process, timed ``--repeats`` times; printed are the
medians of its CPU time (user + system) and wall time:

* ``--help``;
* a refusal (``activation=foo``: one ``Error:`` line);
* a refusal of an occupied run directory;
* the first optimizer step of a 1-epoch run: the time from launch until the process is stopped at
  its first step (the fail point ``step``, see aelab.faults).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def timed(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(CPU s, wall s) of ``aelab-train <args>`` in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "aelab", *args], cwd=cwd, env=env, capture_output=True, timeout=600)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, wall


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    env = {**os.environ, "AELAB_OFFLINE": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        occupied = cwd / "occupied"
        occupied.mkdir()
        (occupied / "notes.txt").write_text("a file of the user's")
        cases = {
            "--help": ["--help"],
            "refusal: activation=foo": ["activation=foo", f"hydra.run.dir={cwd / 'never'}"],
            "refusal: occupied dir": [f"hydra.run.dir={occupied}"],
            "first optimizer step": ["trainer.epochs=1", "logging=off", "trainer.progress=false", "device=cpu"],
        }
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        for i in range(args.repeats):
            for name, case in cases.items():
                extra = [f"hydra.run.dir={cwd / f'run{i}'}"] if name == "first optimizer step" else []
                step_env = {**env, "AELAB_FAILPOINT": "step"} if name == "first optimizer step" else env
                results[name].append(timed(case + extra, step_env, cwd))
    print(f"median of {args.repeats} fresh processes (python -m aelab = aelab-train)")
    print(f"{'case':28}{'CPU s':>8}{'wall s':>8}")
    for name, runs in results.items():
        print(f"{name:28}{statistics.median(r[0] for r in runs):>8.2f}{statistics.median(r[1] for r in runs):>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
