"""crash: kill -9 at random and at exact writes; the checkpoint is the source of truth."""

from __future__ import annotations

import signal
from collections.abc import Callable

import pytest

from .checks import (
    completed_problem,
    empty,
    flip_bytes,
    need,
    need_job,
    read_json,
    refusal_problem,
    short,
    snapshot_diff,
)
from .harness import LONG, QUICK_TIMEOUT, TINY, Case, MissedWindow, committed, need_failpoint, wait_committed
from .procs import Result, stopped

CATEGORY = "crash"
pytestmark = pytest.mark.faults
QUICK, EXTENDED = pytest.mark.faults_quick, pytest.mark.faults_extended


@pytest.mark.parametrize(
    "seed", [pytest.param(0, marks=QUICK), 1, 2, pytest.param(3, marks=EXTENDED), pytest.param(4, marks=EXTENDED)]
)
def test_kill9_random(case: Case, seed: int) -> None:
    """kill -9 a LONG run a seeded random time (0-0.5 s) after a seeded random commit (the step-0
    one, then the data loads, or epoch 1..N-2's); resume= completes with history 1..N and
    bit-identical test metrics."""

    def body(c: Case) -> str:
        run_dir = c.work / "run"
        job = c.start_train(LONG, run_dir)
        epoch = c.rng.randint(0, LONG.epochs - 2)
        need_job(wait_committed(job, run_dir, epoch), job, f"epoch {epoch} was never committed")
        delay = c.delay(0.0, 0.5)
        with stopped(job.pid, group=True) as held:
            state = committed(run_dir)
            if not held or state is None or state[0] != "running":
                raise MissedWindow(f"the run had ended {delay:.2f} s after commit {epoch}")
            job.send(signal.SIGKILL, group=True)
        job.wait(30)
        c.resume_to_completion(run_dir, LONG)
        return f"killed {delay:.2f} s after commit {epoch}, {state[1]} epochs committed; resume identical"

    case.held(case.retry(body))


def test_kill9_before_first_checkpoint(case: Case) -> None:
    """kill -9 as the first checkpoint is written (the run dir and last.pt's hash record exist, last.pt
    not yet). The dir must not be stuck: resume= completes to the uninterrupted result, or, if
    resume= refuses (one line: there is nothing to resume), a fresh run of the same config in that dir does."""
    c, run_dir, point = case, case.work / "run", "writing:last.pt@1"
    need_failpoint(c.train(LONG, run_dir, failpoint=point), point)
    need(not (run_dir / "checkpoints" / "last.pt").exists(), "last.pt exists although the kill preceded it")
    ref_test = c.refs.test_metrics(LONG)
    res = c.resume(run_dir)
    if res.rc == 0:
        problem = completed_problem(run_dir, LONG.epochs, ref_test)
        need(problem is None, f"after resume: {problem}")
        return c.held("resume after a kill before the first checkpoint completed identically")
    refused = refusal_problem(res)
    need(refused is None, f"resume neither completed nor refused cleanly: {refused}")
    fresh = c.train(LONG, run_dir)
    need(
        fresh.rc == 0,
        f"resume refused ({short(res.err_lines[0], 70)}) and a fresh run in the dir too: {fresh.describe()}",
    )
    problem = completed_problem(run_dir, LONG.epochs, ref_test)
    need(problem is None, f"fresh run after the refused resume: {problem}")
    c.held("resume refused (nothing to resume) and a fresh run in the same dir completed identically")


@pytest.mark.parametrize(
    "write",
    [pytest.param(1, id="1"), pytest.param(3, id="3", marks=EXTENDED), pytest.param(LONG.epochs + 2, id="last")],
)
def test_kill9_right_after_checkpoint(case: Case, write: int) -> None:
    """kill -9 right after write #k of checkpoints/last.pt (#1: the step-0 commit, #N+1: the last
    epoch's, #N+2: the completed record; "last" is #N+2, before its metrics.json): resume= completes
    with history 1..N and bit-identical test metrics."""
    run_dir, point = case.work / "run", f"wrote:last.pt@{write}"
    need_failpoint(case.train(LONG, run_dir, failpoint=point), point)
    case.resume_to_completion(run_dir, LONG)
    case.held(f"killed right after write #{write} of last.pt; resume identical")


def test_kill9_twice(case: Case) -> None:
    """kill -9 right after checkpoint write #2, resume=, kill -9 the resume right after its first
    checkpoint write, resume= again: one record per epoch, bit-identical test metrics."""
    run_dir = case.work / "run"
    need_failpoint(case.train(LONG, run_dir, failpoint="wrote:last.pt@2"), "wrote:last.pt@2")
    need_failpoint(case.resume(run_dir, failpoint="wrote:last.pt@1"), "wrote:last.pt@1 (in the resume)")
    case.resume_to_completion(run_dir, LONG, "second resume")
    case.held("two kills, two resumes, identical result")


def test_deleted_metrics_rebuilt(case: Case) -> None:
    """kill -9 right after checkpoint write #3, delete metrics.json, resume=: metrics.json is
    rebuilt with the full history 1..N and bit-identical test metrics."""
    run_dir = case.work / "run"
    need_failpoint(case.train(LONG, run_dir, failpoint="wrote:last.pt@3"), "wrote:last.pt@3")
    (run_dir / "metrics.json").unlink(missing_ok=True)
    case.resume_to_completion(run_dir, LONG)
    case.held("metrics.json rebuilt with the whole history")


def _resume_completed(c: Case, damage: Callable[[Case], None]) -> str:
    run_dir = c.copy_run(c.refs.reference(TINY))
    damage(c)
    before = c.snap()
    res = c.resume(run_dir, timeout=QUICK_TIMEOUT)
    diffs = snapshot_diff(before, c.snap())
    need(res.rc == 0, f"resume of a completed run: {res.describe()}")
    need("complete" in res.output.lower(), "exit 0 but no message saying the run is complete")
    need(not diffs, "files changed: " + "; ".join(diffs))
    return f"exit 0 in {res.seconds:.1f} s, nothing changed"


@QUICK
def test_resume_completed_is_noop(case: Case) -> None:
    """resume= on a completed run exits 0, says it is complete, and changes no file (nor ./outputs)."""
    case.held(_resume_completed(case, lambda c: None))


def test_resume_completed_corrupt_best_is_noop(case: Case) -> None:
    """resume= on a completed run whose best.pt is corrupt still exits 0 and changes no file."""
    case.held(_resume_completed(case, lambda c: flip_bytes(c.work / "run" / "checkpoints" / "best.pt", c.rng)))


def test_failed_attempts_keep_completed(case: Case) -> None:
    """Failed attempts on a completed run (a fresh run in its dir, resume= with a changed
    model.width, skip_done=true with another depth, resume= with last.pt emptied) never turn its
    metrics.json into failed: the file stays byte-identical with status completed."""
    c = case
    run_dir = c.copy_run(c.refs.reference(TINY))
    metrics = run_dir / "metrics.json"
    original = metrics.read_bytes()
    t = QUICK_TIMEOUT + 30
    attempts: list[tuple[str, Callable[[], Result]]] = [
        ("fresh run in its dir", lambda: c.train(TINY, run_dir, timeout=t)),
        ("resume with model.width=32", lambda: c.resume(run_dir, "model.width=32", timeout=t)),
        (
            "skip_done with depth=3",
            lambda: c.train(TINY.without("depth"), run_dir, "depth=3", "skip_done=true", timeout=t),
        ),
    ]
    for what, attempt in attempts:
        attempt()
        status = read_json(metrics).get("status")
        need(status == "completed", f"after {what}: status {status!r}")
        need(metrics.read_bytes() == original, f"after {what}: metrics.json rewritten")
    empty(run_dir / "checkpoints" / "last.pt")
    c.resume(run_dir, timeout=QUICK_TIMEOUT)
    need(metrics.read_bytes() == original, "after resume with an empty last.pt: metrics.json rewritten")
    c.held("metrics.json byte-identical after 4 failed attempts")
