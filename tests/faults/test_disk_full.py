"""disk full: a full disk is one line naming the path, the files left are valid, and resume= completes
once there is space again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .checks import fill_disk, need, need_job, short
from .harness import LONG, QUICK_TIMEOUT, TINY, TRAIN_TIMEOUT, Case, MissedWindow, committed, wait_committed
from .procs import Result, stopped

CATEGORY = "disk full"
pytestmark = pytest.mark.faults
QUICK, EXTENDED = pytest.mark.faults_quick, pytest.mark.faults_extended


def check_disk_full_failure(res: Result, run_dir: Path) -> None:
    """Exit non-zero, no traceback, exactly one stderr line with 'no space left on device' and the path."""
    need(not res.timed_out, "hung when the disk filled up")
    need(res.rc not in (0, None), f"exit {res.rc} although the disk was full")
    need("Traceback" not in res.output, "traceback in the output")
    hits = [line for line in res.err_lines if "no space left on device" in line.lower()]
    need(
        len(hits) == 1,
        f"{len(hits)} stderr lines mention 'no space left on device' "
        f"(last stderr: {short(res.err_lines[-1], 70) if res.err_lines else '-'})",
    )
    need(str(run_dir) in hits[0], f"the line does not name the path: {short(hits[0], 90)}")


def existing_files_valid(run_dir: Path) -> None:
    """metrics.json, if present, is valid JSON (checkpoints are checked by the resume that follows)."""
    metrics = run_dir / "metrics.json"
    if metrics.exists():
        try:
            json.loads(metrics.read_text())
        except ValueError:
            need(False, "metrics.json left invalid by the full disk")


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(1, id="first", marks=QUICK),
        pytest.param(LONG.epochs, id="last"),
        pytest.param(None, id="random", marks=EXTENDED),
    ],
)
def test_fill_after_checkpoint(case: Case, write: int | None) -> None:
    """Run dir on a 16 MiB tmpfs, filled up while the run is held stopped right after the commit
    that holds write #k of last.pt (#1: the step-0 commit; "last": #N; "random": a seeded #1..#N-1
    plus 0-0.25 s): exit non-zero, one line with 'no space left on device' and the path, existing
    files valid; after freeing space resume= completes with a consistent history and
    bit-identical test metrics."""

    def body(c: Case) -> str:
        mnt = c.work / "mnt"
        c.ctx.mount_tmpfs(mnt, "16m")
        try:
            run_dir = mnt / "run"
            job = c.start_train(LONG, run_dir)
            k = write if write is not None else c.rng.randint(1, LONG.epochs - 1)
            need_job(wait_committed(job, run_dir, k - 1), job, f"last.pt write #{k} never came")
            extra = c.delay(0.0, 0.25) if write is None else 0.0
            with stopped(job.pid, group=True) as held:
                state = committed(run_dir)
                if not held or state is None or state[0] != "running":
                    raise MissedWindow(f"the run was at {state} {extra:.2f} s after last.pt write #{k}")
                filler = fill_disk(mnt)
            res = job.wait(TRAIN_TIMEOUT)
            check_disk_full_failure(res, run_dir)
            existing_files_valid(run_dir)
            filler.unlink()
            c.resume_to_completion(run_dir, LONG, "resume after freeing space")
            return f"filled at {state} (after write #{k}): one ENOSPC line naming the path; resume identical"
        finally:
            c.kill_jobs()
            c.ctx.umount(mnt)

    case.held(case.retry(body))


def test_small_tmpfs_second_checkpoint(case: Case) -> None:
    """A tmpfs sized from the reference run: all of its files plus half a last.pt, so the first
    epoch fits but writing the next checkpoint beside the old one does not. The run stops with
    one ENOSPC line naming the path; after growing the tmpfs, resume= completes identically."""
    case.ctx.can_mount()
    ref = case.refs.reference(LONG)
    files = [p for p in ref.rglob("*") if p.is_file()]
    used = sum(-(-p.stat().st_size // 4096) * 4096 for p in files)  # tmpfs counts whole pages
    size_kb = (used + (ref / "checkpoints" / "last.pt").stat().st_size // 2 + 64 * 1024) // 1024
    mnt = case.work / "mnt"
    case.ctx.mount_tmpfs(mnt, f"{size_kb}k")
    try:
        run_dir = mnt / "run"
        res = case.train(LONG, run_dir)
        need(res.rc != 0 or committed(run_dir) != ("completed", LONG.epochs), f"{size_kb} KiB held the whole run")
        check_disk_full_failure(res, run_dir)
        existing_files_valid(run_dir)
        state = committed(run_dir)
        case.ctx.remount(mnt, "64m")
        case.resume_to_completion(run_dir, LONG, "resume after growing the tmpfs")
        case.held(f"{size_kb} KiB tmpfs: one ENOSPC line, stopped at {state}; resume completed identically")
    finally:
        case.kill_jobs()
        case.ctx.umount(mnt)


def test_full_before_start(case: Case) -> None:
    """The run dir's filesystem is already full at launch: exit non-zero with one line naming
    'no space left on device' and the path, no traceback."""
    mnt = case.work / "mnt"
    case.ctx.mount_tmpfs(mnt, "1m")
    try:
        fill_disk(mnt)
        run_dir = mnt / "run"
        res = case.train(TINY, run_dir, timeout=QUICK_TIMEOUT + 60)
        check_disk_full_failure(res, run_dir)
        case.held("one ENOSPC line naming the path")
    finally:
        case.kill_jobs()
        case.ctx.umount(mnt)
