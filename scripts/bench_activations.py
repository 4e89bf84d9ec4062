#!/usr/bin/env python
"""What a row whose φ' needs z costs against ReLU: activation memory kept for backward and the time
of one forward + backward, for a stack of equal dense layers.

    python scripts/bench_activations.py                   # 4 layers 1024 → 1024, batch 256, float32, 1 thread
    python scripts/bench_activations.py --depth 8 --width 512 --batch 512 --threads 2 --repeats 9

Rows, for each activation (relu and every row that reads φ' off z):
    lecture      LectureLinear layers (one Function each): keep x^(l−1) and a (relu) or a and z (z-rows)
    recompute    z-rows only: the same layers keeping x, W, b and computing z = x Wᵀ + b again in
                 backward (a variant written here, not in aelab: the alternative to keeping z)
    native       nn.Linear + the native activation (autograd)

Method: the input requires grad (as inside a net). "kept" counts the distinct tensors autograd's
saved-tensor hooks see, parameters excluded (W, b are held anyway): a layer's output that the next
layer keeps as its input counts once. Time: ``repeats`` rounds, each timing ``steps`` forward +
backward passes of every row in turn (the order rotated per round); the median per row, and the
spread (min-max over rounds) of the ratio to the relu lecture row measured in the same round.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from aelab.backprop import ACTIVATIONS, LectureLinear
from aelab.backprop.activation import Activation


class RecomputeZ(torch.autograd.Function):
    """``φ(x Wᵀ + b)`` keeping x, W, b and computing z again in backward (no z kept)."""

    @staticmethod
    def forward(x: Tensor, weight: Tensor, bias: Tensor, act: Activation) -> Tensor:
        return act.phi(torch.addmm(bias, x, weight.t()))

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Tensor) -> None:
        x, weight, bias, act = inputs
        ctx.act = act
        ctx.save_for_backward(x, weight, bias)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Tensor | None, ...]:
        x, weight, bias = ctx.saved_tensors
        z = torch.addmm(bias, x, weight.t())  # the one more matrix product
        delta = ctx.act.delta(g, z)
        return delta @ weight, delta.t() @ x, delta.sum(0), None


def nets(name: str, width: int, depth: int) -> dict[str, Callable[[Tensor], Tensor]]:
    torch.manual_seed(0)
    lecture = nn.Sequential(*[LectureLinear(width, width, name) for _ in range(depth)])
    native = nn.Sequential(
        *[m for _ in range(depth) for m in (nn.Linear(width, width), ACTIVATIONS[name].torch_module())]
    )
    native.load_state_dict(
        {f"{2 * i}.{k}": v for i, layer in enumerate(lecture) for k, v in layer.state_dict().items()}
    )
    out: dict[str, Callable[[Tensor], Tensor]] = {"lecture": lecture}
    if ACTIVATIONS[name].needs_z:

        def recompute(x: Tensor) -> Tensor:
            for layer in lecture:
                x = RecomputeZ.apply(x, layer.weight, layer.bias, layer.act)
            return x

        out["recompute"] = recompute
    out["native"] = native
    return out


def kept_bytes(fn: Callable[[Tensor], Tensor], x: Tensor, params: set[int]) -> int:
    """Bytes of the distinct non-parameter tensors autograd saves while ``fn(x)`` runs."""
    seen: dict[int, int] = {}

    def pack(t: Tensor) -> Tensor:
        ptr = t.untyped_storage().data_ptr()
        if ptr not in params:
            seen[ptr] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn(x)
    del out
    return sum(seen.values())


def step_time(fn: Callable[[Tensor], Tensor], x: Tensor, g: Tensor, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        fn(x).backward(g)
    return (time.perf_counter() - start) / steps


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--width", type=int, default=1024)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    names = ["relu", *[n for n in ACTIVATIONS if ACTIVATIONS[n].needs_z]]
    rows: dict[tuple[str, str], Callable[[Tensor], Tensor]] = {}
    params: set[int] = set()
    for name in names:
        for impl, fn in nets(name, args.width, args.depth).items():
            rows[(name, impl)] = fn
            if isinstance(fn, nn.Module):
                params |= {q.untyped_storage().data_ptr() for q in fn.parameters()}
    x = torch.randn(args.batch, args.width, requires_grad=True)
    g = torch.randn(args.batch, args.width)
    kept = {key: kept_bytes(fn, x, params) for key, fn in rows.items()}
    for fn in rows.values():  # warm-up
        step_time(fn, x, g, 2)
    times: dict[tuple[str, str], list[float]] = {key: [] for key in rows}
    keys = list(rows)
    for r in range(args.repeats):
        for key in keys[r % len(keys) :] + keys[: r % len(keys)]:
            times[key].append(step_time(rows[key], x, g, args.steps))
    print(
        f"{args.depth} dense layers {args.width} → {args.width}, batch {args.batch}, float32, "
        f"{args.threads} thread(s), {platform.processor() or platform.machine()}, torch {torch.__version__}; "
        f"median of {args.repeats} rounds of {args.steps} steps"
    )
    base = ("relu", "lecture")
    print(
        f"{'activation':<10} {'impl':<10} {'kept MiB':>8} {'kept/relu':>9} {'fwd+bwd ms':>10} {'time/relu':>9}  spread"
    )
    for (name, impl), ts in times.items():
        ratios = [t / b for t, b in zip(ts, times[base])]
        print(
            f"{name:<10} {impl:<10} {kept[(name, impl)] / 2**20:>8.1f} {kept[(name, impl)] / kept[base]:>9.2f} "
            f"{statistics.median(ts) * 1e3:>10.2f} {statistics.median(ratios):>9.2f}  "
            f"{min(ratios):.2f}-{max(ratios):.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
