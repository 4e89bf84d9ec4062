"""Every file a run writes follows its checkpoint (issue: records round three).

A kill at a fail point between two writes of a run (an epoch logged but not committed, last.pt
committed but not metrics.json, the test logged but not committed), then ``resume=``: metrics.csv
holds each row once and TensorBoard each value once, equal to an uninterrupted run's. A damaged
metrics.csv never fails a run. A recorded config that lacks a key is refused naming it."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from aelab.config import compose
from aelab.errors import ConfigError
from aelab.files import write_verified
from aelab.loggers.tensorboard.tags import tb_tag
from aelab.training.checkpoint import serialize
from aelab.training.loop import train
from conftest import REPO

TINY = [
    "data.limit=256",
    "data.eval_limit=128",
    "trainer.epochs=3",
    "trainer.batch_size=64",
    "depth=2",
    "model.width=16",
    "device=cpu",
    "trainer.progress=false",
    "trainer.threads=1",
    "logging.loggers=[tensorboard,csv]",
    "logging.every_n_steps=2",
    "logging.histograms=false",
    "logging.projector=false",
    "logging.images=false",
]


def cfg(root: Path, *extra: str):
    return compose([*TINY, f"data.root={root}", *extra])


def run_killed_at(point: str, run: Path, root: Path) -> int:
    """train() in a subprocess that SIGKILLs itself at the fail point ``point``."""
    code = "import sys\nfrom aelab.training.loop import train\nfrom aelab.config import compose\n"
    code += "train(compose(sys.argv[2:]), run_dir=sys.argv[1])\n"
    env = {**os.environ, "AELAB_FAILPOINT": point}
    args = [sys.executable, "-c", code, str(run), *TINY, f"data.root={root}"]
    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=300).returncode


def csv_rows(run: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((run / "metrics.csv").read_text())))


def scalars(run: Path, tag: str) -> list[tuple[int, float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run / "tb"), size_guidance={"scalars": 0})
    acc.Reload()
    return [(e.step, e.value) for e in acc.Scalars(tag)] if tag in acc.Tags()["scalars"] else []


@pytest.fixture(scope="module")
def reference(mnist_root, tmp_path_factory):
    run = tmp_path_factory.mktemp("reference") / "run"
    metrics = train(cfg(mnist_root), run_dir=run)
    assert metrics["status"] == "completed"
    return run, metrics


def same_records(run: Path, ref: Path) -> None:
    """metrics.csv: the same rows in the same order with the same values (but the timings);
    TensorBoard: each epoch's and the test's values once, equal to the reference's."""
    ours, theirs = csv_rows(run), csv_rows(ref)
    keep = [c for c in theirs[0] if c != "perf/samples_per_s"]
    assert [{c: r[c] for c in keep} for r in ours] == [{c: r[c] for c in keep} for r in theirs]
    assert [r["row"] for r in ours].count("test") == 1
    for name in ("metric/val_sq_err_per_image", "loss/train_epoch", "metric/test_sq_err_per_image", "loss/train"):
        tag = tb_tag(name)
        assert scalars(ref, tag) and scalars(run, tag) == scalars(ref, tag), tag


@pytest.mark.parametrize(
    "point",
    [
        "epoch:logged@2",  # epoch 2 logged (csv row, TensorBoard scalars), not committed
        "commit:after_last@3",  # epoch 2's last.pt written, not its metrics.json
        "test:logged",  # the test logged, not committed
        "step@9",  # mid-epoch 3, between two commits
    ],
)
def test_a_kill_between_a_runs_writes_leaves_each_logged_value_once(reference, mnist_root, tmp_path, point):
    ref_dir, ref = reference
    run = tmp_path / "run"
    assert run_killed_at(point, run, mnist_root) == -9
    resumed = train(cfg(mnist_root, f"resume={run}"))
    assert resumed["status"] == "completed" and resumed["test"] == ref["test"]
    same_records(run, ref_dir)


def test_a_damaged_metrics_csv_is_rebuilt_and_never_fails_the_run(reference, mnist_root, tmp_path, caplog):
    ref_dir, ref = reference
    run = tmp_path / "run"
    assert run_killed_at("step@9", run, mnist_root) == -9
    (run / "metrics.csv").write_bytes(os.urandom(4096))
    resumed = train(cfg(mnist_root, f"resume={run}"))
    assert resumed["status"] == "completed" and resumed["test"] == ref["test"]
    rows = csv_rows(run)
    epochs = [r for r in rows if r["row"] == "epoch"]
    ref_epochs = [r for r in csv_rows(ref_dir) if r["row"] == "epoch"]
    assert [(r["step"], r["metric/val_sq_err_per_image"]) for r in epochs] == [
        (r["step"], r["metric/val_sq_err_per_image"]) for r in ref_epochs
    ]  # rebuilt from the checkpoint's history
    assert [r["row"] for r in rows].count("test") == 1
    warnings = [r.getMessage() for r in caplog.records if "metrics.csv" in r.getMessage()]
    assert len(warnings) == 1 and str(run / "metrics.csv") in warnings[0]


def _interrupted(mnist_root: Path, run: Path) -> None:
    assert run_killed_at("step@5", run, mnist_root) == -9


def test_a_recorded_config_that_lacks_a_key_is_refused_naming_it(mnist_root, tmp_path):
    run = tmp_path / "run"
    _interrupted(mnist_root, run)
    last = run / "checkpoints" / "last.pt"
    state = torch.load(last, weights_only=True)
    del state["config"]["optimizer"]["lr"]
    write_verified(last, serialize(state))
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    with pytest.raises(ConfigError, match=r"recorded config has no optimizer\.lr"):
        train(cfg(mnist_root, f"resume={run}"))
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


def test_a_key_with_a_compatibility_rule_is_read_as_the_run_trained(mnist_root, tmp_path):
    run = tmp_path / "run"
    _interrupted(mnist_root, run)
    last = run / "checkpoints" / "last.pt"
    state = torch.load(last, weights_only=True)
    del state["config"]["optimizer"]["eps"]  # runs recorded without it trained with torch's 1e-8
    write_verified(last, serialize(state))
    resumed = train(cfg(mnist_root, f"resume={run}"))
    assert resumed["status"] == "completed" and resumed["hparams"]["optimizer"]["eps"] == 1e-8


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    cmd = [sys.executable, str(REPO / "scripts" / "train.py"), *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    "override, message",
    [
        ("seed=18446744073709551616", "seed=18446744073709551616 is out of range"),
        ("data.split_seed=18446744073709551616", "data.split_seed=18446744073709551616 is out of range"),
        ("optimizer.lr=nan", "optimizer.lr=nan is not valid: optimizer.lr must be a finite number"),
        ("optimizer.weight_decay=inf", "optimizer.weight_decay=inf is not valid"),
        ("trainer.epochs=99999999999999999999", "trainer.epochs=99999999999999999999 is out of range"),
        ("model.depth=8", "model.depth=8 disagrees with depth=4"),
        ("model.hidden=[64,32]", "model.hidden=[64, 32] gives 3 layers per side but depth=4: set depth=3"),
    ],
)
def test_values_the_code_cannot_hold_are_refused_before_anything_exists(tmp_path, override, message):
    result = _cli(override, f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.startswith(f"Error: {message}")
    assert len(result.stderr.splitlines()) == 1 and list(tmp_path.iterdir()) == []


def test_an_override_beside_resume_of_a_completed_run_is_refused(reference, mnist_root, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(reference[0], run)
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    refused = _cli(f"resume={run}", "model.width=64", f"data.root={mnist_root}", cwd=tmp_path)
    assert refused.returncode == 2 and "model.width: checkpoint 16 vs now 64" in refused.stderr
    fine = _cli(f"resume={run}", "trainer.threads=1", f"data.root={mnist_root}", cwd=tmp_path)  # where it runs
    assert fine.returncode == 0 and "is complete" in fine.stdout
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
