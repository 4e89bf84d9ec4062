"""Smoke test of scripts/bench_backprop.py: one tiny CPU case runs and prints a finite speed ratio."""

from __future__ import annotations

import math
import re
import runpy
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "scripts" / "bench_backprop.py"


def test_bench_backprop_quick_run_prints_a_finite_ratio(capsys, tmp_path):
    bench = runpy.run_path(str(BENCH), run_name="bench_backprop")
    out_json = tmp_path / "bench.json"
    argv = ["--quick", "--cases", "mlp256", "--steps", "2", "--repeats", "1", "--device", "cpu",
            "--json", str(out_json)]
    assert bench["main"](argv) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if "speed L/T" in line)
    assert "lecture steps/s" in header and "torch steps/s" in header and "peak L/T" in header
    row = next(line for line in lines if line.split() and line.split()[0] == "mlp256")
    speed_ratio = float(re.findall(r"(\S+)x(?:\s|$)", row)[0])  # first "…x" cell: speed L/T
    assert math.isfinite(speed_ratio) and speed_ratio > 0
    assert out_json.exists()
