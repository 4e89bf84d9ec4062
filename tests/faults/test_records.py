"""records: every file a run writes follows its checkpoint — a kill between a logger's write and the
commit, or between the test's logging and the final commit, leaves each value once after resume=;
a damaged metrics.csv never fails a run; a recorded config that lacks a key is refused naming it; an
override beside resume= of a completed run is refused."""

from __future__ import annotations

import csv
import io
import os

import pytest
import torch

from aelab.files import write_verified
from aelab.training.checkpoint import serialize

from .checks import expect_refused, need
from .harness import TINY, Case, RunCfg, need_failpoint

CATEGORY = "records"
pytestmark = pytest.mark.faults
QUICK = pytest.mark.faults_quick
LOGGED = RunCfg("logged", (*TINY.without("logging"), "logging.loggers=[csv]", "logging.every_n_steps=2"), TINY.epochs)


def rows(run_dir) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((run_dir / "metrics.csv").read_text())))


def once_each(run_dir) -> str:
    """metrics.csv after resume=: one epoch row per epoch, one test row, no step twice."""
    table = rows(run_dir)
    epochs = [r["epoch"] for r in table if r["row"] == "epoch"]
    steps = [r["step"] for r in table if r["row"] == "step"]
    need(epochs == [str(e) for e in range(1, LOGGED.epochs + 1)], f"epoch rows {epochs}")
    need([r["row"] for r in table].count("test") == 1, "not one test row")
    need(len(steps) == len(set(steps)), "a step row twice")
    return f"{len(epochs)} epoch rows, one test row, {len(steps)} step rows once each"


@pytest.mark.parametrize("point", [pytest.param("epoch:logged@2", marks=QUICK), "commit:after_last@2", "test:logged"])
def test_kill_between_a_logged_value_and_its_commit(case: Case, point: str) -> None:
    """kill -9 at the fail point, then resume=: the run completes as the reference did, and its
    metrics.csv holds every row once (the epoch rows rebuilt from the checkpoint's history)."""
    run_dir = case.work / "run"
    need_failpoint(case.train(LOGGED, run_dir, failpoint=point), point)
    case.resume_to_completion(run_dir, LOGGED)
    case.held(f"killed at {point}; resumed: {once_each(run_dir)}")


def test_garbage_metrics_csv_never_fails_the_run(case: Case) -> None:
    """An interrupted run whose metrics.csv is random bytes: resume= completes it, says the file's
    name once, and rebuilds the epoch rows from the checkpoint."""
    run_dir = case.work / "run"
    need_failpoint(case.train(LOGGED, run_dir, failpoint="step@11"), "step@11")  # in epoch 2
    (run_dir / "metrics.csv").write_bytes(os.urandom(2048))
    res = case.resume_to_completion(run_dir, LOGGED)
    named = [line for line in res.output.splitlines() if "metrics.csv" in line]
    need(len(named) == 1, f"{len(named)} lines name metrics.csv")
    case.held(f"completed; {once_each(run_dir)}")


def test_a_recorded_config_that_lacks_a_key_is_refused(case: Case) -> None:
    """last.pt's config without optimizer.lr (written by another version): resume= refuses in one
    line naming the key and changes nothing."""
    run_dir = case.work / "run"
    need_failpoint(case.train(TINY, run_dir, failpoint="step@5"), "step@5")
    last = run_dir / "checkpoints" / "last.pt"
    state = torch.load(last, weights_only=True)
    del state["config"]["optimizer"]["lr"]
    write_verified(last, serialize(state))
    before = case.snap()
    case.held(expect_refused(case.resume(run_dir), before, case.snap(), ["optimizer.lr"]))


def test_an_override_beside_resume_of_a_completed_run_is_refused(case: Case) -> None:
    run_dir = case.copy_run(case.refs.reference(TINY))
    before = case.snap()
    case.held(expect_refused(case.resume(run_dir, "model.width=64"), before, case.snap(), ["model.width"]))
