"""directory reuse: a run directory belongs to one run; skip_done skips only the same run."""

from __future__ import annotations

import pytest

from .checks import completed_problem, expect_refused, need, need_job, refusal_problem, short, snapshot, snapshot_diff
from .harness import LONG, QUICK_TIMEOUT, TINY, Case, MissedWindow, committed, wait_committed
from .procs import stopped

CATEGORY = "directory reuse"
pytestmark = pytest.mark.faults
QUICK, EXTENDED = pytest.mark.faults_quick, pytest.mark.faults_extended


@pytest.mark.parametrize(
    "interrupted, extra",
    [
        pytest.param(False, (), id="completed"),
        pytest.param(True, (), id="interrupted"),
        pytest.param(False, ("depth=3",), id="completed_other_config", marks=EXTENDED),
    ],
)
def test_fresh_run_in_occupied_dir(case: Case, interrupted: bool, extra: tuple[str, ...]) -> None:
    """A fresh run (no resume=; the same config, or depth=3) into a dir holding a completed or a
    killed run is refused, nothing changes."""
    run_dir = case.copy_run(case.refs.interrupted() if interrupted else case.refs.reference(TINY))
    cfg = LONG if interrupted else TINY
    before = case.snap()
    res = case.train(cfg.without("depth") if extra else cfg, run_dir, *extra, timeout=QUICK_TIMEOUT + 30)
    case.held(expect_refused(res, before, case.snap()))


@pytest.mark.parametrize(
    "kind",
    [pytest.param("resume", marks=QUICK), "fresh", pytest.param("skip_done", marks=EXTENDED)],
)
def test_second_process_while_running(case: Case, kind: str) -> None:
    """While a run trains (lock held; it is held stopped, past epoch 1, while the second process
    tries), resume=<dir> / a fresh run (seed=1) / the same config with skip_done=true on the same
    dir is refused at once with one line and changes nothing; the first run then completes."""

    def body(c: Case) -> str:
        run_dir = c.work / "run"
        a = c.start_train(LONG, run_dir)
        need_job(wait_committed(a, run_dir, 1), a, "the first run never committed epoch 1")
        with stopped(a.pid, group=True) as held:
            state = committed(run_dir)
            if not held or state is None or state[0] != "running":
                raise MissedWindow(f"the first run was at {state} when stopped")
            before = snapshot(run_dir)
            if kind == "resume":
                rb = c.cli("train", [f"resume={run_dir}"], 60)
            elif kind == "fresh":
                rb = c.cli("train", [*LONG.without("seed"), "seed=1", f"hydra.run.dir={run_dir}"], 60)
            else:
                rb = c.cli("train", [*LONG.overrides, "skip_done=true", f"hydra.run.dir={run_dir}"], 60)
            diffs = snapshot_diff(before, snapshot(run_dir))
            a_alive = a.alive()
        ra = a.wait(180)
        need(a_alive, f"the first run died while stopped ({ra.describe()})")
        problem = refusal_problem(rb)
        need(problem is None, f"second process: {problem}")
        need(not diffs, f"the second process changed the run dir: {'; '.join(diffs)}")
        need(ra.rc == 0, f"the first run was disturbed: {ra.describe()}")
        problem = completed_problem(run_dir, LONG.epochs, c.refs.test_metrics(LONG))
        need(problem is None, f"first run: {problem}")
        return f"second process refused in {rb.seconds:.1f} s while the first ran: {short(rb.err_lines[0], 70)}"

    case.held(case.retry(body))


def test_skip_done_same_config_noop(case: Case) -> None:
    """skip_done=true with the same config on a completed run dir exits 0 and changes nothing."""
    run_dir = case.copy_run(case.refs.reference(TINY))
    before = case.snap()
    res = case.train(TINY, run_dir, "skip_done=true", timeout=QUICK_TIMEOUT + 30)
    diffs = snapshot_diff(before, case.snap())
    need(res.rc == 0, f"skip_done same config: {res.describe()}")
    need(not diffs, "files changed: " + "; ".join(diffs))
    case.held(f"exit 0 in {res.seconds:.1f} s, nothing changed")


@pytest.mark.parametrize(
    "key, value", [pytest.param("depth", "3", id="depth", marks=QUICK), pytest.param("model.width", "32", id="width")]
)
def test_skip_done_other_refused(case: Case, key: str, value: str) -> None:
    """skip_done=true with another depth / model.width on a completed run: refused naming the key,
    nothing changes."""
    run_dir = case.copy_run(case.refs.reference(TINY))
    before = case.snap()
    res = case.train(TINY.without(key), run_dir, f"{key}={value}", "skip_done=true", timeout=QUICK_TIMEOUT + 30)
    case.held(expect_refused(res, before, case.snap(), [key]))


def test_resume_changed_override_refused(case: Case) -> None:
    """resume= of an interrupted run with model.width=64 is refused naming model.width, nothing changes."""
    run_dir = case.copy_run(case.refs.interrupted())
    before = case.snap()
    res = case.resume(run_dir, "model.width=64", timeout=QUICK_TIMEOUT + 30)
    case.held(expect_refused(res, before, case.snap(), ["model.width"]))


def test_resume_dir_without_run_refused(case: Case) -> None:
    """resume= of an existing dir that holds no run is refused with one line, nothing changes."""
    run_dir = case.work / "notarun"
    run_dir.mkdir()
    (run_dir / "notes.txt").write_text("hello\n")
    before = case.snap()
    res = case.resume(run_dir, timeout=QUICK_TIMEOUT)
    case.held(expect_refused(res, before, case.snap()))
