"""Ctrl-C stops a sweep, with every launcher: exit 130, the running jobs ``interrupted`` (their step
committed), the rest not started, one last line saying how to complete it; ``skip_done=true`` on the
same command completes the sweep.

The signal lands at a known place: ``AELAB_FAILPOINT=stop:check@12=stop`` makes every job halt
itself (SIGSTOP) at its 12th training step (mid epoch 2 of 2). The test sends the signal as a
terminal (SIGINT to the sweep's process group) or a scheduler (SIGTERM to the sweep's process)
does, and lets each halted job go on (SIGCONT) once the stop has reached it (pending in its
/proc status), so a job never finishes before it is told to stop. The Slurm case is in
test_slurm.py. The helpers here are shared with it.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from omegaconf import OmegaConf

from conftest import REPO

TINY = [
    "data.limit=512",
    "data.eval_limit=256",
    "trainer.epochs=2",
    "trainer.batch_size=64",
    "depth=2",
    "model.width=32",
    "device=cpu",
    "logging=off",
    "trainer.progress=false",
    "hydra.callbacks.report.recon=false",
]
PAUSE = "stop:check@12=stop"  # each job halts at its 12th step: epoch 2, step 11 (8 steps an epoch)
STOPS = {signal.SIGINT, signal.SIGTERM}
LAST_LINE = "complete it with the same command and skip_done=true"


# --- helpers (test_slurm.py uses them too) ----------------------------------------------------


def stopped_at(error: str) -> int:
    """The global step a job halted at its 12th step says it stopped at: that step's check (11) or,
    when Python runs the signal's handler a few bytecodes after the check, the next step's (12)."""
    steps = re.findall(r" at epoch 2, step (\d+); resume with ", error)
    assert len(steps) == 1 and steps[0] in ("11", "12"), error
    return int(steps[0])


def resumed_after(job: Path, step: int) -> bool:
    """Whether the job's log says a resume started after global ``step`` (8 steps an epoch)."""
    log = (job / "train.log").read_text()
    return log.count("resuming") == 1 and f"at epoch 2, step {step - 8} (global step {step})" in log


def sweep_command(sweep: Path, mnist_root: Path, *overrides: str) -> list[str]:
    return [
        sys.executable,
        "scripts/train.py",
        "-m",
        *TINY,
        f"data.root={mnist_root}",
        f"hydra.sweep.dir={sweep}",
        *overrides,
    ]


def start_sweep(cmd: list[str], log: Path, failpoint: str | None = PAUSE) -> subprocess.Popen:
    """The sweep in a process group of its own (as a shell runs a foreground job), output to ``log``."""
    env = {k: v for k, v in os.environ.items() if k != "AELAB_FAILPOINT"}
    if failpoint:
        env["AELAB_FAILPOINT"] = failpoint
    with log.open("w") as out:
        return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def run_sweep(cmd: list[str], timeout: int = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "AELAB_FAILPOINT"}
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def proc_status(pid: int) -> tuple[str, set[int]]:
    """A process's state letter and the signals pending for it and not blocked ("", set() if gone)."""
    fields: dict[str, str] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    except OSError:
        return "", set()
    mask = (int(fields.get("SigPnd", "0"), 16) | int(fields.get("ShdPnd", "0"), 16)) & ~int(
        fields.get("SigBlk", "0"), 16
    )
    return fields.get("State", " ")[0], {n for n in range(1, 65) if mask >> (n - 1) & 1}


def job_pids(sweep: Path) -> dict[Path, int]:
    """The process holding each job dir of ``sweep`` (a run writes its pid into its .lock)."""
    pids = {}
    for lock in sweep.glob("*/.lock"):
        try:
            pid = int(lock.read_text().strip() or 0)
        except (OSError, ValueError):
            continue
        if pid and proc_status(pid)[0]:
            pids[lock.parent] = pid
    return pids


def halted(sweep: Path) -> dict[Path, int]:
    """Job dirs whose process has halted itself at the fail point."""
    return {d: pid for d, pid in job_pids(sweep).items() if proc_status(pid)[0] == "T"}


def wait_for(what: str, check: Callable[[], Any], timeout: float, proc: subprocess.Popen | None = None) -> Any:
    """Poll ``check`` until it returns something true; fail after ``timeout`` s or if ``proc`` ends first."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the sweep ended (exit {proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout:.0f} s")
        time.sleep(0.1)


def release(proc: subprocess.Popen, sweep: Path, signals: set[int], timeout: float = 300) -> int:
    """Until the sweep ends: let each halted job go on once one of ``signals`` is pending for it."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        for pid in halted(sweep).values():
            if proc_status(pid)[1] & signals:
                os.kill(pid, signal.SIGCONT)
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the sweep did not end within {timeout:.0f} s of the stop")
        time.sleep(0.1)
    return proc.returncode


def metrics(job: Path) -> dict[str, Any]:
    return json.loads((job / "metrics.json").read_text())


def results(sweep: Path) -> list[dict[str, str]]:
    with (sweep / "results.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


# --- every launcher ---------------------------------------------------------------------------

LAUNCHERS = [("basic", 3), ("joblib", 3), ("submitit_local", 2)]  # (launcher, jobs in the sweep)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGINT to the group", "SIGTERM to the sweep"])
@pytest.mark.parametrize(("launcher", "n_jobs"), LAUNCHERS)
def test_a_stop_signal_stops_the_sweep_and_skip_done_completes_it(tmp_path, mnist_root, launcher, n_jobs, how):
    sweep = tmp_path / "sweep"
    cmd = sweep_command(sweep, mnist_root, f"hydra/launcher={launcher}", f"seed={','.join(map(str, range(n_jobs)))}")
    proc = start_sweep(cmd, tmp_path / "sweep.log")
    try:
        first = next(iter(wait_for("job halted at its 12th step", lambda: halted(sweep), 300, proc)))
        if how.startswith("SIGINT"):
            os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        else:
            os.kill(proc.pid, signal.SIGTERM)  # what a scheduler or kill does
        code = release(proc, sweep, STOPS)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    out = (tmp_path / "sweep.log").read_text()
    assert code == 130, out[-3000:]
    sent = "SIGINT" if how.startswith("SIGINT") else "SIGTERM"
    # the job halted mid-epoch committed the step it stopped at; a job process that did not get the
    # signal itself (a submitit job: only its controller is in the group) got the sweep's SIGTERM
    assert metrics(first)["status"] == "interrupted"
    assert metrics(first)["error"].split(" at ")[0] in (sent, "SIGTERM")
    step = stopped_at(metrics(first)["error"])
    assert metrics(first)["epochs_completed"] == 1
    started = sorted(p for p in sweep.iterdir() if (p / "metrics.json").exists())
    statuses = [metrics(p)["status"] for p in started]
    assert statuses and set(statuses) == {"interrupted"}, statuses
    if launcher != "submitit_local":  # submitit starts every job at once; the others one or two at a time
        assert len(started) < n_jobs
    line = last_line(out)
    assert line == (
        f"Error: sweep stopped by {sent} ({len(started)} interrupted"
        + (f", {n_jobs - len(started)} not started" if len(started) < n_jobs else "")
        + f" of {n_jobs} jobs); {LAST_LINE}"
    )
    assert not (sweep / "report.md").exists()
    again = run_sweep([*cmd, "skip_done=true"])
    assert again.returncode == 0, again.stderr[-3000:]
    assert [r["status"] for r in results(sweep)] == ["completed"] * n_jobs
    assert resumed_after(first, step)
    for job in sweep.glob("0*"):
        assert [h["epoch"] for h in metrics(job)["history"]] == [1, 2]


# --- the pieces, in this process ----------------------------------------------------------------


@pytest.fixture
def fresh_interrupt(monkeypatch):
    """aelab.training.interrupt's process-wide lists, empty for this test and put back after it."""
    from aelab.training import interrupt

    for name in ("_CAUGHT", "_PENDING"):
        monkeypatch.setattr(interrupt, name, [])
    monkeypatch.setattr(interrupt, "_STOP_SIGNALS", [signal.SIGINT, signal.SIGTERM])
    return interrupt


def test_a_stop_before_the_run_stops_it_at_its_first_step(fresh_interrupt):
    from aelab.launchers.job import take_job_signals

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR2)}
    try:
        take_job_signals(signal.SIGUSR2)  # a Slurm job: the time-limit warning stops a run too
        os.kill(os.getpid(), signal.SIGUSR2)
        assert fresh_interrupt.caught() == ["SIGUSR2"]
        with fresh_interrupt.StopFlag() as stop:
            assert stop.requested == "SIGUSR2"  # taken over by the run
            assert signal.getsignal(signal.SIGUSR2) == stop._handler
            os.kill(os.getpid(), signal.SIGTERM)
            assert stop.requested == "SIGUSR2"  # the first stop names it
        assert fresh_interrupt.caught() == ["SIGUSR2", "SIGTERM"]
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def test_a_run_without_a_sweep_starts_with_no_stop(fresh_interrupt):
    with fresh_interrupt.StopFlag() as stop:
        assert stop.requested is None
        assert signal.getsignal(signal.SIGUSR2) != stop._handler  # only a sweep's job adds signals


def test_the_last_line_counts_the_jobs():
    from aelab.launchers.stop import SweepStop

    stop = SweepStop()
    stop.note("SIGTERM")
    stop.note("SIGINT")  # a second signal: stop waiting, the first one names the stop
    assert stop.again and stop.requested == "SIGTERM"
    message = str(stop.stopped(["completed", "interrupted", None, "interrupted", None]))
    assert message == f"sweep stopped by SIGTERM (2 interrupted, 1 completed, 2 not started of 5 jobs); {LAST_LINE}"


def _job(tmp_path: Path, status: str | None, error: str = "SIGTERM at epoch 2, step 11; resume with ...") -> Any:
    job = tmp_path / "sweep" / "00"
    job.mkdir(parents=True)
    if status:
        (job / "metrics.json").write_text(json.dumps({"status": status, "error": error, "history": [{"epoch": 1}]}))
    return OmegaConf.create(
        {
            "seed": 0,
            "hydra": {
                "sweep": {"dir": str(tmp_path / "sweep"), "subdir": "00"},
                "job": {"num": 0, "name": "train"},
                "overrides": {"task": ["seed=0"]},
            },
        }
    )


def _returned() -> Any:
    from hydra.core.utils import JobReturn, JobStatus

    ret = JobReturn(overrides=["seed=0"], task_name="train")
    ret.status, ret.return_value = JobStatus.COMPLETED, math.inf
    return ret


def test_a_run_stopped_from_outside_the_sweep_is_recorded_crashed(tmp_path):
    from aelab.launchers.records import settle

    cfg = _job(tmp_path, "interrupted")
    settle(cfg, _returned(), "", stopping=None)  # scancel, a preemption, a kill -TERM of the job
    record = metrics(tmp_path / "sweep" / "00")
    assert record["status"] == "crashed"
    assert record["error"] == "stopped from outside the sweep: SIGTERM at epoch 2, step 11; resume with ..."
    assert record["history"] == [{"epoch": 1}]  # the run's own record, kept


def test_a_run_the_sweep_stopped_keeps_its_own_record(tmp_path):
    from aelab.launchers.records import settle

    cfg = _job(tmp_path, "interrupted")
    before = (tmp_path / "sweep" / "00" / "metrics.json").read_text()
    settle(cfg, _returned(), "", stopping="SIGINT")
    assert (tmp_path / "sweep" / "00" / "metrics.json").read_text() == before
    settle(cfg, None, "it ended without a result", stopping="SIGINT")  # its result lost: still its words
    assert (tmp_path / "sweep" / "00" / "metrics.json").read_text() == before


def test_a_job_that_died_while_the_sweep_stopped_is_interrupted_and_one_never_begun_leaves_nothing(tmp_path):
    from aelab.launchers.records import settle

    cfg = _job(tmp_path, "running")
    settle(cfg, None, "it ended without a result", stopping="SIGTERM")
    record = metrics(tmp_path / "sweep" / "00")
    assert (record["status"], record["error"]) == (
        "interrupted",
        "it ended without a result; the sweep was stopped by SIGTERM",
    )
    empty = _job(tmp_path / "other", None)
    settle(empty, None, "the job's process failed: JobStopped: stopped by SIGINT before its run began", "SIGINT")
    assert list((tmp_path / "other" / "sweep" / "00").iterdir()) == []
