#!/usr/bin/env python
"""Show the verification of the hand-written backprop Function, one row per activation × check.

    python scripts/verify_backprop.py

Exit code 1 if any check fails. The same checks run in the test suite (tests/test_backprop_*.py).
"""

from __future__ import annotations

import sys

import torch

from aelab.backprop import ACTIVATIONS
from aelab.backprop.verify import error_vs_autograd, gradchecks, hand_recursion_error, saved_bytes_vs_native

TOL = {"vs autograd f64 (8 layers)": 1e-10, "vs autograd f32 (8 layers)": 1e-5, "hand recursion (3 layers)": 1e-12}


def rows() -> list[tuple[str, str, str, bool]]:
    out = []
    for name in ACTIVATIONS:
        ok1, ok2 = gradchecks(name)
        out.append((name, "gradcheck f64 (batched)", "-", ok1))
        out.append((name, "gradgradcheck f64 (batched)", "-", ok2))
        for check, err in (
            ("vs autograd f64 (8 layers)", error_vs_autograd(name, torch.float64)),
            ("vs autograd f32 (8 layers)", error_vs_autograd(name, torch.float32)),
            ("hand recursion (3 layers)", hand_recursion_error(name)),
        ):
            out.append((name, check, f"{err:.2e} (tol {TOL[check]:.0e})", err <= TOL[check]))
        ours, native = saved_bytes_vs_native(name)
        out.append((name, "saved bytes <= native", f"{ours} vs {native}", ours <= native))
    return out


def main() -> int:
    table = rows()
    header = ("activation", "check", "max rel. error / value", "result")
    widths = [max(len(str(r[i])) for r in [header, *table]) for i in range(3)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths) + "  {}"
    print(fmt.format(*header))
    print(fmt.format(*("-" * w for w in widths), "------"))
    for name, check, err, ok in table:
        print(fmt.format(name, check, err, "PASS" if ok else "FAIL"))
    failed = sum(not r[3] for r in table)
    print(f"\n{len(table) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
