"""signals: SIGINT/SIGTERM mark the run interrupted and resume bit-identically; a signal at start-up
prints no traceback."""

from __future__ import annotations

import signal

import pytest

from .checks import need, need_job, read_json, short
from .harness import LONG, TINY, Case, MissedWindow, committed, wait_committed
from .procs import stopped

CATEGORY = "signals"
pytestmark = pytest.mark.faults
QUICK, EXTENDED = pytest.mark.faults_quick, pytest.mark.faults_extended


@pytest.mark.parametrize(
    "sig, group",
    [
        pytest.param(signal.SIGINT, False, id="sigint", marks=QUICK),
        pytest.param(signal.SIGTERM, False, id="sigterm"),
        pytest.param(signal.SIGINT, True, id="sigint_to_group", marks=EXTENDED),
    ],
)
def test_signal_during_training(case: Case, sig: int, group: bool) -> None:
    """The signal to the process (or its process group) a seeded 0-0.3 s after epoch 1's commit,
    sent while the run is held stopped with at least one epoch ahead of it: exit non-zero, status
    interrupted at that epoch, resume= completes bit-identically to an uninterrupted run."""
    name = signal.Signals(sig).name

    def body(c: Case) -> str:
        run_dir = c.work / "run"
        job = c.start_train(LONG, run_dir)
        need_job(wait_committed(job, run_dir, 1), job, "epoch 1 was never committed")
        delay = c.delay(0.0, 0.3)
        with stopped(job.pid, group=True) as held:
            state = committed(run_dir)
            # the stop flag is read before each step: the run must still have an epoch to train
            if not held or state is None or state[0] != "running" or state[1] > LONG.epochs - 2:
                raise MissedWindow(f"the run was at {state} {delay:.2f} s after epoch 1")
            job.send(sig, group=group)
        res = job.wait(60)
        need(not res.timed_out, f"did not exit within 60 s of {name}")
        need(res.rc != 0, f"exit 0 after {name}")
        metrics = read_json(run_dir / "metrics.json")
        need(metrics.get("status") == "interrupted", f"status {metrics.get('status')!r} after {name}")
        error = str(metrics.get("error"))
        need(error.startswith(f"{name} at epoch {state[1] + 1}"), f"error does not say where: {short(error, 80)}")
        c.resume_to_completion(run_dir, LONG)
        return f"{short(error.split(';')[0], 40)} -> rc {res.rc}, interrupted; resume identical"

    case.held(case.retry(body))


def test_sigint_then_sigterm_on_resume(case: Case) -> None:
    """SIGINT right after checkpoint write #2 (epoch 1), resume=, SIGTERM right after the resume's
    first checkpoint write, resume= again: both interrupted attempts exit non-zero and the end
    result is bit-identical."""
    run_dir = case.work / "run"
    res = case.train(LONG, run_dir, failpoint="wrote:last.pt@2=int")
    need(res.rc not in (0, None), f"SIGINT: {res.describe()}")
    need(read_json(run_dir / "metrics.json").get("status") == "interrupted", "not interrupted after SIGINT")
    res2 = case.resume(run_dir, failpoint="wrote:last.pt@1=term")
    need(res2.rc not in (0, None), f"SIGTERM on resume: {res2.describe()}")
    metrics = read_json(run_dir / "metrics.json")
    need(metrics.get("status") == "interrupted", f"status {metrics.get('status')!r} after SIGTERM on resume")
    need(str(metrics.get("error")).startswith("SIGTERM"), f"error {short(str(metrics.get('error')), 60)}")
    case.resume_to_completion(run_dir, LONG, "final resume")
    case.held(f"interrupted twice (rc {res.rc}, {res2.rc}), final result identical")


@pytest.mark.parametrize(
    "delay, sig",
    [
        pytest.param(0.5, signal.SIGINT, id="sigint_0.5s", marks=QUICK),
        pytest.param(1.5, signal.SIGINT, id="sigint_1.5s", marks=EXTENDED),
        pytest.param(None, signal.SIGINT, id="sigint_random"),
        pytest.param(1.0, signal.SIGTERM, id="sigterm_1s"),
    ],
)
def test_signal_at_startup(case: Case, delay: float | None, sig: int) -> None:
    """The signal a fixed or seeded 0.2-3 s after launch (start-up), sent while the process is held
    stopped (so it is surely still running): no Python traceback on stderr."""
    name = signal.Signals(sig).name

    def body(c: Case) -> str:
        job = c.start_train(TINY, c.work / "run")
        d = c.delay(0.2, 3.0) if delay is None else c.delay(delay, delay)
        with stopped(job.pid) as held:
            if not held:
                raise MissedWindow(f"the process had ended {d:.2f} s after launch")
            job.send(sig)
        res = job.wait(60)
        need(not res.timed_out, f"did not exit within 60 s of {name}")
        need(
            "Traceback" not in res.stderr,
            f"{name} at {d:.2f} s printed a traceback (last line: "
            f"{short(res.err_lines[-1] if res.err_lines else '', 70)})",
        )
        return f"{name} at {d:.2f} s: rc {res.rc}, no traceback"

    case.held(case.retry(body))


def test_sigint_while_loading_data(case: Case) -> None:
    """SIGINT as the first checkpoint is written (the run dir exists, the data is still to load):
    exit non-zero without a traceback, and resume= then completes bit-identically."""
    run_dir, point = case.work / "run", "writing:last.pt@1=int"
    res = case.train(LONG, run_dir, failpoint=point)
    need(res.rc not in (0, None), f"after SIGINT: {res.describe()}")
    need("Traceback" not in res.stderr, "traceback on stderr")
    error = str(read_json(run_dir / "metrics.json").get("error"))
    need(error.startswith("SIGINT at epoch 1, step 0"), f"not stopped before the first step: {short(error, 80)}")
    case.resume_to_completion(run_dir, LONG)
    case.held(f"rc {res.rc}, no traceback, {short(error.split(';')[0], 40)}; resume identical")
