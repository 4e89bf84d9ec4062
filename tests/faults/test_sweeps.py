"""sweeps: a joblib sweep survives a job killed with -9; another grid, or a second sweep, on a sweep
dir is refused."""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence
from pathlib import Path

import pytest

from .checks import (
    Entry,
    expect_refused,
    job_dir,
    need,
    need_job,
    refusal_problem,
    results_rows,
    short,
    snapshot,
    snapshot_diff,
    statuses,
)
from .harness import LONG, SWEEP_GRID, SWEEP_TIMEOUT, TINY, Case, MissedWindow, committed, wait_committed
from .procs import Job, descendants, open_files, poll_until, stopped

CATEGORY = "sweeps"
pytestmark = pytest.mark.faults
QUICK, EXTENDED = pytest.mark.faults_quick, pytest.mark.faults_extended


def training_job(sweep: Job, sweep_dir: Path, wanted: set[int]) -> tuple[int, int] | None:
    """(job number, pid) of a job of ``wanted`` whose process (a child of the sweep, named in its
    dir's .lock) has committed epoch 1 and is still training."""
    children = set(descendants(sweep.pid))
    for num in sorted(wanted):
        found = sorted(sweep_dir.glob(f"{num:02d}_*"))
        if len(found) != 1:
            continue
        try:
            pid = int((found[0] / ".lock").read_text().strip() or 0)
        except (OSError, ValueError):
            continue
        state = committed(found[0])
        if pid in children and state is not None and state[0] == "running" and state[1] >= 1:
            return num, pid
    return None


def kill_training_job(sweep: Job, sweep_dir: Path, wanted: set[int]) -> int:
    """kill -9 the process of a job of ``wanted`` while it trains; return the job's number. The
    process is stopped first and checked (it holds its dir's lock, the job is not complete), so the
    kill lands in that job; MissedWindow if the sweep ended before one was caught."""
    killed: list[int] = []

    def caught() -> bool:
        hit = training_job(sweep, sweep_dir, wanted)
        if hit is None:
            return False
        num, pid = hit
        run_dir = job_dir(sweep_dir, num)
        with stopped(pid) as held:
            state = committed(run_dir)
            if held and os.path.realpath(run_dir / ".lock") in open_files(pid) and state and state[0] == "running":
                os.kill(pid, signal.SIGKILL)
                killed.append(num)
        return bool(killed)  # else the job ended as it was caught: the next poll skips it

    poll_until(sweep, caught, SWEEP_TIMEOUT, interval=0.01)
    if not killed:
        raise MissedWindow(f"no job of {sorted(wanted)} was caught training ({sweep.wait(5).describe()})")
    return killed[0]


@pytest.mark.parametrize(
    "late", [pytest.param(False, id="first_round", marks=QUICK), pytest.param(True, id="second_round", marks=EXTENDED)]
)
def test_kill9_worker(case: Case, late: bool) -> None:
    """joblib sweep of 4 jobs (n_jobs=2): kill -9 the process of job 0 or 1 (first round) / 2 or 3
    (second round) while it trains, found through its dir's .lock among the sweep's children; the
    sweep exits 0, that job is 'crashed' in results.csv, the others complete, report.md is written."""

    def body(c: Case) -> str:
        sweep_dir = c.work / "sweep"
        grid = ("activation=relu,tanh", "depth=1,2")
        args = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2", *grid, *LONG.without("depth")]
        sweep = c.start("train", ["-m", *args, f"hydra.sweep.dir={sweep_dir}"])
        num = kill_training_job(sweep, sweep_dir, {2, 3} if late else {0, 1})
        res = sweep.wait(SWEEP_TIMEOUT)
        need(not res.timed_out, "the sweep did not end (hung after the job's process died)")
        need(res.rc == 0, f"sweep exit {res.describe()}")
        rows = results_rows(sweep_dir)
        need(str(num) in rows, f"results.csv has no row for killed job {num}")
        status = rows[str(num)].get("status")
        need(status == "crashed", f"killed job {num} recorded as {status!r}, not crashed")
        bad = statuses(sweep_dir, [n for n in range(4) if n != num])
        need(not bad, f"other jobs not completed: {', '.join(bad)}")
        need((sweep_dir / "report.md").exists(), "no report.md")
        return f"job {num} killed while training; sweep exit 0, job {num} crashed, 3 completed, report written"

    case.held(case.retry(body))


def sweep_args(sweep_dir: Path, grid: Sequence[str], *extra: str) -> list[str]:
    return ["-m", *grid, *TINY.without("depth", "activation"), *extra, f"hydra.sweep.dir={sweep_dir}"]


@pytest.mark.parametrize(
    "grid, extra",
    [
        pytest.param(("activation=relu,tanh",), (), id="other_grid"),
        pytest.param(("depth=1,3",), ("skip_done=true",), id="skip_done_other_grid"),
    ],
)
def test_different_sweep_refused(case: Case, grid: tuple[str, ...], extra: tuple[str, ...]) -> None:
    """A sweep with another grid (activation=relu,tanh; or depth=1,3 with skip_done=true) into a
    dir holding a completed sweep is refused with one line and changes nothing."""
    sweep_dir = case.copy_run(case.refs.sweep(), "sweep")
    before = case.snap()
    res = case.cli("train", sweep_args(sweep_dir, grid, *extra), SWEEP_TIMEOUT)
    case.held(expect_refused(res, before, case.snap()))


def job_files(sweep_dir: Path) -> dict[str, Entry]:
    """Snapshot of the jobs' metrics.json and checkpoints."""
    dirs = [job_dir(sweep_dir, n) for n in (0, 1)]
    return snapshot(*[p for d in dirs for p in (d / "metrics.json", d / "checkpoints")])


def test_skip_done_same_grid_keeps_jobs(case: Case) -> None:
    """skip_done=true with the same grid on a completed sweep exits 0 and leaves every job's
    metrics.json and checkpoints untouched."""
    sweep_dir = case.copy_run(case.refs.sweep(), "sweep")
    before = job_files(sweep_dir)
    res = case.cli("train", sweep_args(sweep_dir, SWEEP_GRID, "skip_done=true"), SWEEP_TIMEOUT)
    diffs = snapshot_diff(before, job_files(sweep_dir))
    need(res.rc == 0, f"rerun: {res.describe()}")
    need(not diffs, "job files changed: " + "; ".join(diffs))
    case.held(f"exit 0 in {res.seconds:.1f} s, jobs untouched")


def test_same_sweep_without_skip_done_keeps_jobs(case: Case) -> None:
    """The identical sweep again without skip_done (fresh runs into occupied job dirs): either one
    refusal line or exit 0, and in both cases no job's metrics.json or checkpoint changes."""
    sweep_dir = case.copy_run(case.refs.sweep(), "sweep")
    before = job_files(sweep_dir)
    res = case.cli("train", sweep_args(sweep_dir, SWEEP_GRID), SWEEP_TIMEOUT)
    diffs = snapshot_diff(before, job_files(sweep_dir))
    need(not diffs, "completed jobs overwritten: " + "; ".join(diffs))
    if res.rc != 0:
        problem = refusal_problem(res)
        need(problem is None, f"refused badly: {problem}")
        return case.held(f"refused: {short(res.err_lines[0], 80)}")
    case.held("exit 0, completed jobs untouched")


def test_second_sweep_while_running_refused(case: Case) -> None:
    """While a sweep runs (basic launcher, 3 LONG jobs; held stopped after job 0's epoch 1 while the
    second tries), the same sweep command on the same sweep dir is refused at once with one line
    and changes nothing; the first sweep then completes every job."""

    def body(c: Case) -> str:
        sweep_dir = c.work / "sweep"
        args = ["-m", "depth=1,2,3", *LONG.without("depth"), f"hydra.sweep.dir={sweep_dir}"]
        a = c.start("train", args)
        need_job(poll_until(a, lambda: len(list(sweep_dir.glob("00_*"))) == 1, SWEEP_TIMEOUT), a, "job 0 never started")
        need_job(wait_committed(a, job_dir(sweep_dir, 0), 1, SWEEP_TIMEOUT), a, "job 0 never committed epoch 1")
        with stopped(a.pid, group=True) as held:
            if not held:
                raise MissedWindow("the first sweep had ended")
            before = snapshot(sweep_dir)
            rb = c.cli("train", args, 60)
            diffs = snapshot_diff(before, snapshot(sweep_dir))
        ra = a.wait(SWEEP_TIMEOUT)
        problem = refusal_problem(rb)
        need(problem is None, f"second sweep: {problem}")
        need(not diffs, f"the second sweep changed the sweep dir: {'; '.join(diffs)}")
        need(ra.rc == 0, f"first sweep disturbed: {ra.describe()}")
        bad = statuses(sweep_dir, range(3))
        need(not bad, f"first sweep's jobs not completed: {', '.join(bad)}")
        return f"second sweep refused in {rb.seconds:.1f} s; first sweep completed"

    case.held(case.retry(body))
