"""Smoke tests of the benchmark scripts: tiny CPU cases run and print finite ratios."""

from __future__ import annotations

import json
import math
import re
import runpy
import time
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "scripts" / "bench_backprop.py"


def test_bench_backprop_quick_run_prints_a_finite_ratio(capsys, tmp_path):
    bench = runpy.run_path(str(BENCH), run_name="bench_backprop")
    out_json = tmp_path / "bench.json"
    argv = [
        "--quick",
        "--cases",
        "mlp256",
        "--steps",
        "2",
        "--repeats",
        "1",
        "--device",
        "cpu",
        "--json",
        str(out_json),
    ]
    assert bench["main"](argv) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if "speed L/T" in line)
    assert "lecture steps/s" in header and "torch steps/s" in header and "peak L/T" in header
    row = next(line for line in lines if line.split() and line.split()[0] == "mlp256")
    speed_ratio = float(re.findall(r"(\S+)x(?:\s|$)", row)[0])  # first "…x" cell: speed L/T
    assert math.isfinite(speed_ratio) and speed_ratio > 0
    assert out_json.exists()


SWEEP = Path(__file__).resolve().parents[1] / "scripts" / "bench_sweep.py"


def test_bench_sweep_refuses_a_single_job():
    bench = runpy.run_path(str(SWEEP), run_name="bench_sweep")
    with pytest.raises(SystemExit) as exc:
        bench["main"](["--jobs", "1"])
    assert exc.value.code == 2  # argparse usage error, before any sweep starts


@pytest.mark.slow  # four multirun subprocesses: ~1-4 min on 2 cores, mostly interpreter start-up
def test_bench_sweep_times_both_launchers_and_prints_their_ratio(capsys, tmp_path):
    bench = runpy.run_path(str(SWEEP), run_name="bench_sweep")
    argv = [
        "--jobs",
        "2",
        "--rounds",
        "1",
        "--device",
        "cpu",
        "--json",
        str(tmp_path / "sweep.json"),
        "activation=relu",
        "depth=1,2",
        "data.limit=256",
        "data.eval_limit=256",
        "trainer.epochs=1",
        "logging=off",
    ]
    assert bench["main"](argv) == 0
    out = capsys.readouterr().out
    assert re.search(r"round 1 sequential\s+2 jobs in", out) and re.search(r"round 1 concurrent\s+2 jobs in", out)
    result = json.loads((tmp_path / "sweep.json").read_text())
    (seq,), (conc,) = result["walls_s"]["sequential"], result["walls_s"]["concurrent"]
    assert result["n_jobs_total"] == 2 and seq > 0 and conc > 0
    assert result["ratio"] == pytest.approx(seq / conc)
    assert f"{result['ratio']:.2f}x" in out


TRAIN = Path(__file__).resolve().parents[1] / "scripts" / "bench_train.py"


def test_bench_train_time_to_target_takes_list_overrides_and_measures_train_error(tmp_path, monkeypatch, mnist_root):
    """--extra keeps a list's commas (model.hidden=[64,32]); --train-error adds the training-set
    error of every epoch next to the test error; a target not reached says so. The clock leaves out
    the script's own evaluations (made 0.5 s slower each here) and counts the run's end."""
    import aelab.metrics

    real = aelab.metrics.evaluate

    def slow_evaluate(*args, **kwargs):  # only the script's probes call it through aelab.metrics
        time.sleep(0.5)
        return real(*args, **kwargs)

    monkeypatch.setattr(aelab.metrics, "evaluate", slow_evaluate)
    bench = runpy.run_path(str(TRAIN), run_name="bench_train")
    out_json = tmp_path / "t.json"
    extra = "data.limit=512,data.eval_limit=500,model.hidden=[64,32],depth=3,trainer.epochs=2"
    argv = ["--device", "cpu", "--cases", "", "--samples", "512", "--time-to-target", "--target-preset"]
    argv += ["speedrun_3min", "--target", "0.01", "--extra", extra, "--train-error", "--json", str(out_json)]
    assert bench["main"](argv) == 0
    result = json.loads(out_json.read_text())["time_to_target"]
    assert result["extra"] == [
        "data.limit=512",
        "data.eval_limit=500",
        "model.hidden=[64,32]",
        "depth=3",
        "trainer.epochs=2",
    ]
    assert result["reached"] is False and [e["epoch"] for e in result["epochs"]] == [1, 2]
    for row in result["epochs"]:
        assert math.isfinite(row["train_sq_err"]) and math.isfinite(row["test_sq_err"]) and row["wall_time_s"] > 0
    assert result["epochs"][1]["train_sq_err"] < result["epochs"][0]["train_sq_err"]  # it trains
    first, second = result["epochs"]
    assert first["probe_time_s"] >= 1.0 and 2.0 <= second["probe_time_s"] == result["probe_time_s"]
    assert second["wall_time_s"] - first["wall_time_s"] < 1.0  # an epoch of 512 images, not its probes
    assert first["wall_time_s"] < second["wall_time_s"] < result["run_wall_time_s"]
    assert result["run_status"] == "completed" and math.isfinite(result["run_test_sq_err"])
