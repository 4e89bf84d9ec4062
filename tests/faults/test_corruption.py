"""corruption: damaged checkpoints are refused in one line naming them; garbage metrics.json is
refused or rebuilt, never a traceback."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from .checks import completed_problem, empty, expect_refused, flip_bytes, need, refusal_problem, short, truncate
from .harness import LONG, QUICK_TIMEOUT, TINY, Case

CATEGORY = "corruption"
pytestmark = pytest.mark.faults
QUICK, EXTENDED = pytest.mark.faults_quick, pytest.mark.faults_extended

DAMAGE: dict[str, Callable[[Path, random.Random], None]] = {
    "flip": lambda p, rng: flip_bytes(p, rng, 100),
    "truncate": lambda p, rng: truncate(p, 0.5),
    "empty": lambda p, rng: empty(p),
}


@pytest.mark.parametrize(
    "which, how",
    [
        pytest.param("best", "flip", id="best_flip", marks=QUICK),
        pytest.param("best", "truncate", id="best_truncate", marks=EXTENDED),
        pytest.param("best", "empty", id="best_empty"),
        pytest.param("last", "flip", id="last_flip"),
    ],
)
def test_damaged_evaluate(case: Case, which: str, how: str) -> None:
    """checkpoints/<which>.pt of a completed run damaged: evaluate.py exits non-zero with one line
    naming <which>.pt and writes nothing (never a number with exit 0)."""
    run_dir = case.copy_run(case.refs.reference(TINY))
    DAMAGE[how](run_dir / "checkpoints" / f"{which}.pt", case.rng)
    before = case.snap()
    res = case.evaluate(run_dir, *(["--which", "last"] if which == "last" else []))
    case.held(expect_refused(res, before, case.snap(), [f"{which}.pt"]))


@pytest.mark.parametrize(
    "which, how",
    [
        pytest.param("last", "flip", id="last_flip"),
        pytest.param("last", "truncate", id="last_truncate", marks=QUICK),
        pytest.param("last", "empty", id="last_empty", marks=EXTENDED),
        pytest.param("best", "flip", id="best_flip"),
    ],
)
def test_damaged_resume(case: Case, which: str, how: str) -> None:
    """checkpoints/<which>.pt of an interrupted run damaged: resume= exits non-zero with one line
    naming <which>.pt and changes nothing."""
    run_dir = case.copy_run(case.refs.interrupted())
    DAMAGE[how](run_dir / "checkpoints" / f"{which}.pt", case.rng)
    before = case.snap()
    res = case.resume(run_dir, timeout=QUICK_TIMEOUT + 30)
    case.held(expect_refused(res, before, case.snap(), [f"{which}.pt"]))


@pytest.mark.parametrize("interrupted", [pytest.param(True, id="interrupted"), pytest.param(False, id="completed")])
def test_garbage_metrics_resume(case: Case, interrupted: bool) -> None:
    """metrics.json of an interrupted / a completed run replaced by '{not json' then resume=: either
    one line and non-zero, or a correct rebuild; never a traceback."""
    cfg = LONG if interrupted else TINY
    run_dir = case.copy_run(case.refs.interrupted() if interrupted else case.refs.reference(cfg))
    (run_dir / "metrics.json").write_text("{not json")
    res = case.resume(run_dir)
    need(not res.timed_out, "resume timed out")
    need("Traceback" not in res.output, "traceback in the output")
    if res.rc == 0:
        problem = completed_problem(run_dir, cfg.epochs, case.refs.test_metrics(cfg))
        need(problem is None, f"exit 0 but not a correct rebuild: {problem}")
        return case.held("rebuilt correctly")
    problem = refusal_problem(res)
    need(problem is None, f"refused badly: {problem}")
    case.held(f"refused: {short(res.err_lines[0], 90)}")
