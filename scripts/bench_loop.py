#!/usr/bin/env python
"""aelab's whole run against the simplest loop that trains the same recipe (a benchmark, not a test).

    python scripts/bench_loop.py [--preset speedrun_3min] [--epochs 3] [--repeats 3] [--threads 1]

A = ``aelab-train experiment=<preset> trainer.epochs=<epochs> logging=off trainer.threads=<threads>``
as the CLI runs it (a process of its own: config, checks, data, the loop with its checkpoint commit
every epoch, the test). B = the plain loop below, in a process of its own: the same network (built
by aelab, the lecture's Function), the same data split held in memory, the same shifts, loss,
optimizer and schedule, a validation pass every epoch and the test at the end — and nothing else.
A and B alternate ``--repeats`` times. Printed: the medians of each one's training steps/s (the
time of the optimizer steps alone) and of each process's CPU time (user + system, start-up
included), and the ratios A/B.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def plain(preset: str, epochs: int, threads: int) -> dict[str, float]:
    """B: the simplest loop that trains ``preset`` for ``epochs`` (run in a child process)."""
    import torch
    import torch.nn.functional as F

    from aelab.build import build
    from aelab.config import compose, to_config
    from aelab.data.augment import shift_images
    from aelab.data.load import load_dataset
    from aelab.metrics import evaluate

    torch.set_num_threads(threads)
    c = to_config(compose([f"experiment={preset}", f"trainer.epochs={epochs}", "device=cpu"]))
    d, o = c.data, c.optimizer
    data = load_dataset(d.name, d.root, split_seed=d.split_seed)
    torch.manual_seed(c.seed)
    model = build(c)
    opt = torch.optim.AdamW(model.parameters(), lr=o.lr, eps=o.eps, weight_decay=o.weight_decay, fused=o.fused)
    steps = math.ceil(len(data.train_x) / c.trainer.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, o.lr, total_steps=steps * epochs, pct_start=o.warmup_fraction, anneal_strategy=o.anneal_strategy
    )
    gen, train_s = torch.Generator().manual_seed(c.seed), 0.0
    for epoch in range(epochs):
        perm = torch.randperm(len(data.train_x), generator=gen)
        shifts = torch.randint(0, 2 * d.shift_augment + 1, (2, len(perm)), generator=gen)
        shifted = d.shift_augment > 0 and epoch < epochs - d.unshifted_last_epochs
        tick = time.perf_counter()
        model.train()
        for idx, offsets in zip(perm.split(c.trainer.batch_size), shifts.split(c.trainer.batch_size, dim=1)):
            x = data.train_x[idx]
            x = shift_images(x, d.shift_augment, offsets) if shifted else x
            loss = F.binary_cross_entropy_with_logits(model(x).logits, x, reduction="sum") / len(x)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        train_s += time.perf_counter() - tick
        val = evaluate(model, data.val_x)["sq_err_per_image"]
    test = evaluate(model, data.test_x)["sq_err_per_image"]
    return {"steps_per_s": steps * epochs / train_s, "val": val, "test": test}


def _child(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(CPU seconds, wall seconds, stdout) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall, out.stdout


def run_aelab(preset: str, epochs: int, threads: int, env: dict[str, str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        args = [f"experiment={preset}", f"trainer.epochs={epochs}", "logging=off", f"trainer.threads={threads}"]
        args += ["device=cpu", "trainer.progress=false", f"hydra.run.dir={run}"]
        cpu, wall, _ = _child([sys.executable, "-m", "aelab", *args], env)
        metrics = json.loads((run / "metrics.json").read_text())
    batch = metrics["hparams"]["trainer"]["batch_size"]
    steps = epochs * math.ceil(metrics["trained_samples"] / epochs / batch)
    rate = steps / metrics["train_time_s"]  # the time of the optimizer steps alone, as the run measures it
    return {"cpu_s": cpu, "wall_s": wall, "steps_per_s": rate, "test": metrics["test"]["sq_err_per_image"]}


def run_plain(preset: str, epochs: int, threads: int, env: dict[str, str]) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--plain", "--preset", preset, "--epochs", str(epochs), "--threads", str(threads)]
    cpu, wall, out = _child(cmd, env)
    return {"cpu_s": cpu, "wall_s": wall, **json.loads(out.strip().splitlines()[-1])}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="speedrun_3min")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--plain", action="store_true", help=argparse.SUPPRESS)  # the child running B
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    if args.plain:
        print(json.dumps(plain(args.preset, args.epochs, args.threads)))
        return 0
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "AELAB_OFFLINE": "1"}
    rows: dict[str, list[dict[str, float]]] = {"aelab": [], "plain": []}
    for i in range(args.repeats):  # A and B alternate
        rows["aelab"].append(run_aelab(args.preset, args.epochs, args.threads, env))
        rows["plain"].append(run_plain(args.preset, args.epochs, args.threads, env))
        a, b = rows["aelab"][-1], rows["plain"][-1]
        print(
            f"pair {i + 1}: aelab {a['steps_per_s']:.1f} steps/s {a['cpu_s']:.1f} s CPU | "
            f"plain {b['steps_per_s']:.1f} steps/s {b['cpu_s']:.1f} s CPU"
        )
    med = {
        k: {q: statistics.median(r[q] for r in v) for q in ("steps_per_s", "cpu_s", "wall_s")} for k, v in rows.items()
    }
    a, b = med["aelab"], med["plain"]
    print(
        f"\nexperiment={args.preset} trainer.epochs={args.epochs} logging=off, {args.threads} thread(s), "
        f"median of {args.repeats}"
    )
    print(f"{'':8}{'steps/s':>10}{'CPU s':>10}{'wall s':>10}")
    for name, m in med.items():
        print(f"{name:8}{m['steps_per_s']:>10.1f}{m['cpu_s']:>10.1f}{m['wall_s']:>10.1f}")
    print(f"ratio aelab/plain: steps/s {a['steps_per_s'] / b['steps_per_s']:.3f}, CPU {a['cpu_s'] / b['cpu_s']:.3f}")
    if args.json:
        args.json.write_text(json.dumps({"medians": med, "runs": rows, "args": vars(args) | {"json": None}}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
