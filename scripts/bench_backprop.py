#!/usr/bin/env python
"""Training speed and memory of ``impl=lecture`` (hand-written Function) vs ``impl=torch`` (autograd).

    python scripts/bench_backprop.py                        # all cases, cuda if present else cpu
    python scripts/bench_backprop.py --device cpu --cases mlp256,conv256 --repeats 7
    python scripts/bench_backprop.py --quick --json /tmp/bench.json
    python scripts/bench_backprop.py --device cpu --threads 1     # steadier on a shared machine
    python scripts/bench_backprop.py --device cpu --threads 1,2 --cases conv256,conv1024 --profile

Method
    * One process. Per case both models come from one seed (the torch twin loads the lecture
      model's state_dict) and train on the same batch of uniform [0, 1] images, already on the device.
    * A step: zero_grad, forward, BCE-with-logits of the logits against the input, backward,
      SGD(lr=0.01, momentum=0.9) step.
    * Speed: after a warm-up, ``repeats`` rounds each time one block of ``steps`` steps per impl,
      alternating the order (L T, T L, L T, ...) so that drifting machine load hits both alike;
      CUDA is synchronized around every block. steps/s is the median over rounds; the speed ratio
      is the median over rounds of that round's lecture/torch (> 1: lecture is faster).
    * Memory, one more step per impl outside the timing, counted from allocations:
        held  bytes allocated by the forward and still alive when it returns: what autograd keeps
              for backward (plus the small model outputs);
        peak  the most bytes alive at once during the step, above the step's start (parameters,
              momentum buffers and data are in the baseline; gradients are not).
      CUDA: torch.cuda.memory_allocated / max_memory_allocated. CPU: the allocation and free
      events that torch.profiler(profile_memory=True) records, replayed in order. Counting
      allocations (rather than summing tensors in a saved_tensors_hooks pack hook) also sees what
      a recomputation hook keeps instead of a tensor (the lecture conv rebuilds its patches).
      Memory ratios are lecture/torch (< 1: lecture uses less).
    * The header gives the load average: other processes on the machine slow both impls, but the
      one with more, smaller ops (lecture) more, and an OpenMP team whose threads get descheduled
      can stall either one many-fold for a while; on a shared CPU --threads 1 is far steadier.
    * ``--threads 1,2`` runs every case at each thread count; ``--profile`` prints, per case, where
      three steps of each impl spend their time (torch.profiler, self CPU time by op).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import statistics
import sys
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from aelab.backprop import LectureSequential
from aelab.build import build_model

MLP = dict(depth=8, width=512, activation="relu", code_dim=30)
CONV_H2006 = dict(depth=4, channels=32, fc_hidden=512, activation="relu", code_dim=30)
CASES: dict[str, tuple[str, dict[str, Any], int]] = {
    "mlp256": ("mlp", MLP, 256),
    "mlp4096": ("mlp", MLP, 4096),
    "mlp256_layers": ("mlp", {**MLP, "fuse": False}, 256),  # one Function per layer, no stack
    "conv256": ("conv", {"depth": 2}, 256),  # depth 2, 32 channels
    "conv1024": ("conv", {}, 1024),
    # the lecture conv as the dense Function on unfolded patches (model.conv_kernel=unfold)
    "conv256_unfold": ("conv", {"conv_kernel": "unfold"}, 256),
    "conv1024_unfold": ("conv", {"conv_kernel": "unfold"}, 1024),
    # experiment=hinton2006_conv's net (4 convolutions and a 512-unit layer per side) at its batch
    "convh128": ("conv", CONV_H2006, 128),
    "convh128_unfold": ("conv", {**CONV_H2006, "conv_kernel": "unfold"}, 128),
}
DEFAULT_CASES = {"cpu": "mlp256,mlp4096,conv256", "cuda": "mlp256,mlp4096,conv256,conv1024"}
BLOCK_SECONDS = 0.75  # --steps default: a timed block lasts about this long
MB = 2**20


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            name = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{name} ({os.cpu_count()} cores, torch threads={torch.get_num_threads()})"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_step(model: nn.Module, opt: torch.optim.Optimizer, x: Tensor, profiled: bool = False) -> None:
    opt.zero_grad(set_to_none=True)
    with torch.profiler.record_function("bench_forward") if profiled else contextlib.nullcontext():
        loss = F.binary_cross_entropy_with_logits(model(x).logits, x)
    loss.backward()
    opt.step()


def steps_per_second(model: nn.Module, opt: torch.optim.Optimizer, x: Tensor, steps: int) -> float:
    sync(x.device)
    t0 = time.perf_counter()
    for _ in range(steps):
        train_step(model, opt, x)
    sync(x.device)
    return steps / (time.perf_counter() - t0)


def memory_mb(model: nn.Module, opt: torch.optim.Optimizer, x: Tensor) -> tuple[float, float]:
    """(held after forward, peak during the step) in MB above the step's start; see the docstring."""
    opt.zero_grad(set_to_none=True)
    if x.device.type == "cuda":
        sync(x.device)
        torch.cuda.reset_peak_memory_stats(x.device)
        base = torch.cuda.memory_allocated(x.device)
        loss = F.binary_cross_entropy_with_logits(model(x).logits, x)
        held = torch.cuda.memory_allocated(x.device) - base
        loss.backward()
        opt.step()
        sync(x.device)
        return held / MB, (torch.cuda.max_memory_allocated(x.device) - base) / MB
    try:
        from torch._C._profiler import _EventType  # the profiler's raw event tree (allocation events)

        cpu = [torch.profiler.ProfilerActivity.CPU]
        with torch.profiler.profile(activities=cpu, profile_memory=True) as prof:
            train_step(model, opt, x, profiled=True)
        nodes, events, fwd_end = list(prof.profiler.kineto_results.experimental_event_tree()), [], 0
    except (ImportError, AttributeError, RuntimeError) as e:  # a torch without this profiler API
        print(f"CPU memory not measured: {e!r}", file=sys.stderr)
        return math.nan, math.nan
    while nodes:
        node = nodes.pop()
        nodes.extend(node.children)
        if node.tag == _EventType.Allocation:
            events.append((node.start_time_ns, node.extra_fields.alloc_size, node.extra_fields.ptr))
        elif node.name == "bench_forward":
            fwd_end = node.end_time_ns
    # Replay the step's allocations: a free counts only if its block was allocated in the step
    # (the allocator's own running total also counts stale blocks from earlier profiling runs).
    live: dict[int, int] = {}
    now = peak = held = 0
    for t, size, ptr in sorted(events):
        if size > 0:
            live[ptr] = size
            now += size
        elif ptr in live:
            now -= live.pop(ptr)
        peak = max(peak, now)
        held = now if t <= fwd_end else held
    return held / MB, peak / MB


def profile_case(models: dict[str, nn.Module], opts: dict[str, Any], x: Tensor, rows: int = 8) -> str:
    """The ops three steps of each impl spend their time in (self CPU time)."""
    out = []
    for k, model in models.items():
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            for _ in range(3):
                train_step(model, opts[k], x)
        table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows, max_name_column_width=44)
        out.append(f"--- {k} ---\n{table}")
    return "\n".join(out)


def run_case(
    name: str, device: torch.device, repeats: int, steps: int | None, quick: bool, profile: bool = False
) -> dict[str, Any]:
    family, kwargs, batch = CASES[name]
    torch.manual_seed(0)
    kwargs = dict(kwargs)
    fuse = kwargs.pop("fuse", True)
    models = {"lecture": build_model(family, impl="lecture", **kwargs).to(device)}
    models["torch"] = build_model(family, impl="torch", **kwargs).to(device)
    for module in models["lecture"].modules():
        if isinstance(module, LectureSequential):
            module.fuse = fuse
    models["torch"].load_state_dict(models["lecture"].state_dict())
    opts = {k: torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9) for k, m in models.items()}
    x = torch.rand(batch, 1, 28, 28, device=device)
    for k in models:  # warm-up (allocator, kernels, momentum buffers) and a step-time estimate
        steps_per_second(models[k], opts[k], x, 1 if quick else 2)
    if steps is None:
        step_s = sum(1 / steps_per_second(models[k], opts[k], x, 1) for k in models) / 2
        steps = max(1, round((0.2 if quick else BLOCK_SECONDS) / step_s))
    rates: dict[str, list[float]] = {"lecture": [], "torch": []}
    for r in range(repeats):
        for k in ("lecture", "torch") if r % 2 == 0 else ("torch", "lecture"):
            rates[k].append(steps_per_second(models[k], opts[k], x, steps))
    mem = {k: memory_mb(models[k], opts[k], x) for k in models}
    if profile:
        print(f"\n=== profile: {name}, {torch.get_num_threads()} thread(s) ===\n{profile_case(models, opts, x)}")
    return {
        "case": name,
        "threads": torch.get_num_threads(),
        "family": family,
        "batch": batch,
        "steps": steps,
        "repeats": repeats,
        "lecture_steps_s": statistics.median(rates["lecture"]),
        "torch_steps_s": statistics.median(rates["torch"]),
        "speed_ratio": statistics.median(a / b for a, b in zip(rates["lecture"], rates["torch"])),
        "held_mb_lecture": mem["lecture"][0],
        "held_mb_torch": mem["torch"][0],
        "held_ratio": mem["lecture"][0] / mem["torch"][0] if mem["torch"][0] else math.nan,
        "peak_mb_lecture": mem["lecture"][1],
        "peak_mb_torch": mem["torch"][1],
        "peak_ratio": mem["lecture"][1] / mem["torch"][1] if mem["torch"][1] else math.nan,
    }


COLUMNS = [  # (header, result key, format)
    ("case", "case", "{}"),
    ("batch", "batch", "{}"),
    ("threads", "threads", "{}"),
    ("steps x rounds", None, "{}"),
    ("lecture steps/s", "lecture_steps_s", "{:.2f}"),
    ("torch steps/s", "torch_steps_s", "{:.2f}"),
    ("speed L/T", "speed_ratio", "{:.2f}x"),
    ("held MB L", "held_mb_lecture", "{:.1f}"),
    ("held MB T", "held_mb_torch", "{:.1f}"),
    ("held L/T", "held_ratio", "{:.2f}x"),
    ("peak MB L", "peak_mb_lecture", "{:.1f}"),
    ("peak MB T", "peak_mb_torch", "{:.1f}"),
    ("peak L/T", "peak_ratio", "{:.2f}x"),
]


def format_table(results: list[dict[str, Any]]) -> str:
    rows = [[h for h, _, _ in COLUMNS]]
    for res in results:
        rows.append(
            [f"{res['steps']} x {res['repeats']}" if key is None else fmt.format(res[key]) for _, key, fmt in COLUMNS]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in rows]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--repeats", type=int, default=None, help="timed rounds per case (default 5, --quick 2)")
    p.add_argument("--steps", type=int, default=None, help=f"steps per timed block (default: ~{BLOCK_SECONDS}s)")
    p.add_argument("--cases", default=None, help=f"comma-separated, from: {', '.join(CASES)}")
    p.add_argument(
        "--threads",
        default=None,
        help="torch.set_num_threads (CPU), or a list (1,2): each case at each; default: torch's",
    )
    p.add_argument("--profile", action="store_true", help="print where each impl's step spends its time")
    p.add_argument("--quick", action="store_true", help="few rounds and short blocks: a smoke run")
    p.add_argument("--json", default=None, help="also write the results to this file")
    args = p.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: CUDA is not available")
    use_cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    device = torch.device("cuda" if use_cuda else "cpu")
    cases = (args.cases or DEFAULT_CASES[device.type]).split(",")
    if unknown := [c for c in cases if c not in CASES]:
        p.error(f"unknown case(s) {', '.join(unknown)}; valid: {', '.join(CASES)}")
    repeats = args.repeats or (2 if args.quick else 5)
    try:
        threads = [int(t) for t in args.threads.split(",")] if args.threads else [torch.get_num_threads()]
    except ValueError:
        p.error(f"--threads {args.threads}: give a number or a comma-separated list of numbers")
    if any(t < 1 for t in threads):
        p.error(f"--threads {args.threads}: thread counts must be >= 1")

    load = ", ".join(f"{v:.1f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    print(f"torch {torch.__version__} | {device.type}: {device_name(device)} | load average {load}")
    print(
        "step = forward + BCE-with-logits + backward + SGD(momentum 0.9); ratios are lecture/torch; "
        f"steps/s: median of {repeats} alternating rounds\n"
    )
    results = []
    for n_threads in threads:
        torch.set_num_threads(n_threads)
        for name in cases:
            results.append(run_case(name, device, repeats, args.steps, args.quick, args.profile))
            print(f"  {name} ({n_threads} thread(s)) done", file=sys.stderr)
    print(format_table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"torch": torch.__version__, "device": device_name(device), "load_average": load, "results": results},
                f,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
