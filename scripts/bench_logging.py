#!/usr/bin/env python
"""Measure what TensorBoard logging costs: the same short run with logging on and off, alternating.

    python scripts/bench_logging.py [--rounds 5] [override ...]

Each round trains the run once with ``logging=default`` and once with ``logging=off`` (the order
alternates between rounds, after one discarded warm-up round), in this process, into a temporary
folder. Reports, as the median over rounds of the logged/unlogged ratio within a round (paired,
so slow drifts in machine load cancel):

* training throughput, ``samples_per_s`` of metrics.json: the epoch loops including every
  ``on_step`` call, without validation and the per-epoch logging;
* wall time of the whole ``train()`` call (with histograms, images, projector, event writing);
* CPU time (user + system, all threads) of the whole ``train()`` call, less sensitive than wall
  time to other processes on a shared machine.

Then one more logged run under cProfile (CPU clock) gives the logger's own CPU time per hook,
next to the whole training loop's.

Extra arguments are Hydra overrides, e.g. ``logging.every_n_steps=10 device=cuda``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BASE = ["data.limit=10000", "data.eval_limit=1000", "trainer.epochs=1", "trainer.progress=false", "device=cpu"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="0: only the profile")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides added to: " + " ".join(BASE))
    args = parser.parse_args(argv)

    import logging

    import torch

    from aelab.config import compose
    from aelab.training.loop import train

    logging.getLogger("aelab").setLevel(logging.WARNING)
    cfgs = {mode: compose([*BASE, *args.overrides, f"logging={mode}"]) for mode in ("default", "off")}
    results: dict[str, list[tuple[float, float, float]]] = {"default": [], "off": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.rounds + 1 if args.rounds else 0):
            for mode in ("default", "off") if i % 2 == 0 else ("off", "default"):
                start, cpu = time.perf_counter(), time.process_time()
                metrics = train(cfgs[mode], run_dir=Path(tmp) / f"{mode}{i}")
                wall, cpu = time.perf_counter() - start, time.process_time() - cpu
                if metrics["status"] != "completed":
                    print(f"run failed: {metrics['error']}", file=sys.stderr)
                    return 1
                if i:  # round 0 warms up (imports, allocator, caches)
                    results[mode].append((metrics["samples_per_s"], wall, cpu))
                    print(
                        f"round {i} logging={mode:7s} {metrics['samples_per_s']:8.0f} samples/s  "
                        f"wall {wall:6.2f} s  cpu {cpu:6.2f} s",
                        flush=True,
                    )
    on, off = results["default"], results["off"]
    if not args.rounds:
        profile_hooks(train, cfgs["default"])
        return 0

    def ratio(k: int) -> float:
        return statistics.median(a[k] / b[k] for a, b in zip(on, off))

    def med(rows: list, k: int) -> float:
        return statistics.median(r[k] for r in rows)

    cfg = cfgs["default"]
    print(
        f"\nmachine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, device={cfg.device}, load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end"
    )
    print(f"run: {' '.join([*BASE, *args.overrides])} (logging.every_n_steps={cfg.logging.every_n_steps})")
    print(f"medians of {args.rounds} rounds, logged vs unlogged:")
    print(f"  training throughput {med(on, 0):.0f} vs {med(off, 0):.0f} samples/s, paired ratio {ratio(0):.3f}")
    print(f"  train() wall time   {med(on, 1):.2f} vs {med(off, 1):.2f} s, paired ratio {ratio(1):.3f}")
    print(f"  train() CPU time    {med(on, 2):.2f} vs {med(off, 2):.2f} s, paired ratio {ratio(2):.3f}")
    profile_hooks(train, cfgs["default"])
    return 0


def profile_hooks(train, cfg) -> None:
    """CPU seconds spent in each logger hook during one logged run, vs the training loop's."""
    import cProfile
    import pstats

    profiler = cProfile.Profile(time.process_time)
    with tempfile.TemporaryDirectory() as tmp:
        profiler.enable()
        train(cfg, run_dir=Path(tmp) / "profiled")
        profiler.disable()
    stats = pstats.Stats(profiler).stats  # {(file, line, name): (cc, nc, tottime, cumtime, callers)}
    cum: dict[str, tuple[int, float]] = {}
    for (file, _, name), (_, calls, _, cumtime, _) in stats.items():
        if file.endswith(("loggers/tensorboard.py", "loggers/base.py")) and name.startswith(
            ("on_", "log_scalars", "_log_step", "close", "__init__")
        ):
            cls = "TensorBoardLogger" if file.endswith("tensorboard.py") else "Loggers"
            cum[f"{cls}.{name}"] = (calls, cumtime)
        elif file.endswith("aelab/gradflow.py") and name in ("hook", "delta_hook"):
            label = "forward hook (saturation)" if name == "hook" else "backward hook (delta norm)"
            cum[f"  {label}"] = (calls, cumtime)  # run inside the training step, not in on_step
        elif file.endswith("training/loop.py") and name == "fit":
            cum["train._fit (everything)"] = (calls, cumtime)
    print("one logged run under cProfile (CPU time, cumulative):")
    for key, (calls, seconds) in sorted(cum.items(), key=lambda kv: -kv[1][1]):
        print(f"  {key:34s} {calls:5d} calls {seconds:8.3f} s")


if __name__ == "__main__":
    sys.exit(main())
