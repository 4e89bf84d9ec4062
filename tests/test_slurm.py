"""Sweeps on a real Slurm: ``hydra/launcher=submitit_slurm`` on the one-node cluster that
scripts/slurm_local.sh starts on this machine (tests marked ``slurm``: ``pytest -m slurm``).

What cluster users meet every week, each on the real path: a sweep with its report and its
``array_parallelism``; a job at its time limit (saved at the warning, requeued, resumed to the
uninterrupted result); a job cancelled with ``scancel``; the submitting process killed while its
jobs run; Ctrl-C. Jobs halt at a known step (fail point ``stop:check@12=stop``, as in
test_sweep_interrupt.py) where the test sends Slurm's signals. The unmarked tests at the end check
the launcher's Slurm pieces without a cluster.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import signal
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO
from test_sweep_interrupt import (
    LAST_LINE,
    halted,
    last_line,
    metrics,
    proc_status,
    release,
    results,
    resumed_after,
    run_sweep,
    start_sweep,
    stopped_at,
    sweep_command,
    wait_for,
)

SCRIPT = REPO / "scripts" / "slurm_local.sh"


@pytest.fixture(scope="session")
def slurm_cluster():
    """A running one-node Slurm: the one already up, or one scripts/slurm_local.sh starts (and stops
    at the end). Skipped where this machine cannot run Slurm's daemons, except under CI=true."""
    if subprocess.run([SCRIPT, "status"], capture_output=True).returncode == 0:
        yield
        return
    why = ""
    if os.geteuid() != 0:
        why = "Slurm's daemons (scripts/slurm_local.sh start) need root"
    else:
        started = subprocess.run([SCRIPT, "start"], capture_output=True, text=True, timeout=900)
        if started.returncode != 0:
            why = f"scripts/slurm_local.sh start failed: {last_line(started.stderr + started.stdout)}"
    if why:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"the Slurm tests must run under CI: {why}")
        pytest.skip(why)
    yield
    subprocess.run([SCRIPT, "stop"], capture_output=True, timeout=120)


def slurm_sweep(sweep: Path, mnist_root: Path, *overrides: str) -> list[str]:
    return sweep_command(
        sweep, mnist_root, "hydra/launcher=submitit_slurm", "hydra.launcher.cpus_per_task=1", *overrides
    )


def slurm_job_id(pid: int) -> str:
    """The Slurm job (``123`` or array task ``123_4``) a job process belongs to, from its environment."""
    env = dict(item.split("=", 1) for item in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in item)
    if env.get("SLURM_ARRAY_JOB_ID"):
        return f"{env['SLURM_ARRAY_JOB_ID']}_{env['SLURM_ARRAY_TASK_ID']}"
    return env["SLURM_JOB_ID"]


def squeue_state(job_id: str) -> str:
    """``STATE|REASON`` of a job while Slurm keeps it (empty once it is gone)."""
    done = subprocess.run(
        ["squeue", "--noheader", "--states=all", "-o", "%T|%r", "-j", job_id], capture_output=True, text=True
    )
    return done.stdout.strip()


def signal_while_halted(job_id: str, pid: int, sig: signal.Signals) -> None:
    """Slurm delivers ``sig`` to the job's step (``scancel --signal``); wait until the halted job has it."""
    subprocess.run(["scancel", f"--signal={sig.name[3:]}", job_id], check=True)
    wait_for(f"{sig.name} pending for the job", lambda: sig in proc_status(pid)[1], 60)


def submission_script(sweep: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(sweep.glob(".submitit/*/*_submission.sh")))


def job_span(log: Path) -> tuple[datetime, datetime]:
    """When a job's process started and ended: submitit's first and last time stamp in its log."""
    stamps = re.findall(r"submitit \w+ \((\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\)", log.read_text())
    return (datetime.strptime(stamps[0], "%Y-%m-%d %H:%M:%S,%f"), datetime.strptime(stamps[-1], "%Y-%m-%d %H:%M:%S,%f"))


def submitted_ids(sweep: Path) -> set[str]:
    return {p.name.split("_")[0] for p in (sweep / ".submitit").iterdir() if p.name[0].isdigit()}


# --- on the cluster ---------------------------------------------------------------------------


@pytest.mark.slurm
def test_a_sweep_ends_with_its_report_one_job_at_a_time_without_sacct_noise(tmp_path, mnist_root, slurm_cluster):
    sweep = tmp_path / "sweep"
    done = run_sweep(slurm_sweep(sweep, mnist_root, "seed=0,1", "hydra.launcher.array_parallelism=1"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert [r["status"] for r in results(sweep)] == ["completed", "completed"]
    assert "| completed |" in (sweep / "report.md").read_text()
    # array_parallelism=1 on a node with room for both: the job processes' lifetimes do not overlap
    spans = sorted(job_span(log) for log in sweep.glob(".submitit/*/*_log.out"))
    assert len(spans) == 2 and spans[0][1] <= spans[1][0], spans
    # resources follow the run: 1 CPU as asked, no GPU for device=cpu, memory for this MLP's training
    script = submission_script(sweep)
    assert "--cpus-per-task=1\n" in script and "--mem=3GB\n" in script and "--array=0-1%1\n" in script
    assert "gpu" not in script
    assert all(metrics(job)["hardware"].endswith(", 1 torch thread)") for job in sweep.glob("0*"))  # its 1 CPU
    console = (done.stdout + done.stderr).splitlines()
    assert not [line for line in console if "Bypassing" in line or "may be inaccurate" in line]
    assert len([line for line in console if "sacct" in line or "accounting" in line]) <= 1


@pytest.mark.slurm
def test_a_submission_slurm_refuses_is_one_line_and_skip_done_submits_it_fixed(tmp_path, mnist_root, slurm_cluster):
    sweep = tmp_path / "sweep"
    cmd = slurm_sweep(sweep, mnist_root, "seed=0")
    refused = run_sweep([*cmd, "hydra.launcher.partition=nowhere"])
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert last_line(refused.stderr) == (
        "Error: the jobs were not submitted: sbatch: error: invalid partition specified: nowhere; "
        "sbatch: error: Batch job submission failed: Invalid partition name specified; "
        "fix hydra.launcher.* and run the same command with skip_done=true"
    )
    fixed = run_sweep([*cmd, "hydra.launcher.partition=debug", "skip_done=true"])
    assert fixed.returncode == 0, fixed.stderr[-3000:]
    assert [r["status"] for r in results(sweep)] == ["completed"]


@pytest.fixture
def reference(tmp_path, mnist_root) -> dict[str, Any]:
    """The uninterrupted run (one thread, as a 1-CPU Slurm job trains): its metrics."""
    from aelab.training.loop import train
    from conftest import compose
    from test_sweep_interrupt import TINY

    overrides = [o for o in TINY if not o.startswith("hydra.")]
    return train(
        compose([*overrides, f"data.root={mnist_root}", "seed=0", "trainer.threads=1"]), run_dir=tmp_path / "ref"
    )


@pytest.mark.slurm
def test_a_job_at_its_time_limit_saves_its_step_is_requeued_and_resumes_to_the_same_result(
    tmp_path, mnist_root, slurm_cluster, reference
):
    sweep = tmp_path / "sweep"
    proc = start_sweep(slurm_sweep(sweep, mnist_root, "seed=0", "hydra.launcher.timeout_min=10"), tmp_path / "log")
    try:
        job, pid = next(iter(wait_for("the job halted at its 12th step", lambda: halted(sweep), 300, proc).items()))
        job_id = slurm_job_id(pid)
        # the time-limit warning Slurm sends the job's step signal_delay_s before the limit (its
        # --signal=USR2@120), sent now: what the job does from here on is what it does at its limit
        assert "--signal=USR2@120\n" in submission_script(sweep)
        signal_while_halted(job_id, pid, signal.SIGUSR2)
        os.kill(pid, signal.SIGCONT)
        # requeued by submitit; Slurm holds a requeued job two minutes (BeginTime): start it now
        wait_for("the job requeued", lambda: squeue_state(job_id) == "PENDING|BeginTime", 120, proc)
        subprocess.run(["scontrol", "update", f"JobId={job_id}", "StartTime=now"], check=True)
        code = proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert code == 0, (tmp_path / "log").read_text()[-3000:]
    record = metrics(job)
    assert record["status"] == "completed" and [h["epoch"] for h in record["history"]] == [1, 2]
    assert record["test"] == reference["test"]  # bit-identical to the uninterrupted run
    log = (job / "train.log").read_text()
    # the stop is taken at the halted step's check or, when Python runs the signal's handler a few
    # bytecodes later, at the next step's: the message names the step the resume then starts after
    (said,) = re.findall(rf"run interrupted: (SIGUSR2 at .*; resume with resume={re.escape(str(job))})", log)
    assert resumed_after(job, stopped_at(said))
    assert "Requeued job" in "".join(p.read_text() for p in sweep.glob(".submitit/*/*_log.out"))


@pytest.mark.slurm
def test_a_job_cancelled_with_scancel_is_crashed_and_skip_done_completes_it(tmp_path, mnist_root, slurm_cluster):
    sweep = tmp_path / "sweep"
    cmd = slurm_sweep(sweep, mnist_root, "seed=0,1")
    proc = start_sweep(cmd, tmp_path / "log")
    try:
        jobs = wait_for("both jobs halted", lambda: len(h := halted(sweep)) == 2 and h, 300, proc)
        (victim, victim_pid), (other, other_pid) = sorted(jobs.items())
        victim_id = slurm_job_id(victim_pid)
        # scancel wakes a job (SIGCONT) and sends it SIGTERM; the SIGTERM sent first, while it is
        # halted, is the one the job takes, so it cannot finish its last steps first
        signal_while_halted(victim_id, victim_pid, signal.SIGTERM)
        subprocess.run(["scancel", victim_id], check=True)
        os.kill(other_pid, signal.SIGCONT)
        code = proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert code == 0, (tmp_path / "log").read_text()[-3000:]
    assert [r["status"] for r in results(sweep)] == ["crashed", "completed"]
    record = metrics(victim)
    assert record["status"] == "crashed" and record["epochs_completed"] == 1
    assert record["error"].startswith("stopped from outside the sweep: SIGTERM at ")
    step = stopped_at(record["error"])
    assert "| crashed |" in (sweep / "report.md").read_text()
    kept = (other / "checkpoints" / "last.pt").stat().st_mtime_ns
    again = run_sweep([*cmd, "skip_done=true"])
    assert again.returncode == 0, again.stderr[-3000:]
    assert [r["status"] for r in results(sweep)] == ["completed", "completed"]
    assert resumed_after(victim, step)
    assert (other / "checkpoints" / "last.pt").stat().st_mtime_ns == kept  # collected, not run again
    assert [h["epoch"] for h in metrics(victim)["history"]] == [1, 2]


@pytest.mark.slurm
def test_the_submitter_killed_its_jobs_finish_and_skip_done_collects_them(tmp_path, mnist_root, slurm_cluster):
    sweep = tmp_path / "sweep"
    cmd = slurm_sweep(sweep, mnist_root, "seed=0,1")
    proc, again = start_sweep(cmd, tmp_path / "log"), None
    try:
        jobs = wait_for("both jobs halted", lambda: len(h := halted(sweep)) == 2 and h, 300, proc)
        os.kill(proc.pid, signal.SIGKILL)  # the login node's process dies; its jobs stay on Slurm
        proc.wait(timeout=60)
        first = submitted_ids(sweep)
        again = start_sweep([*cmd, "skip_done=true"], tmp_path / "again.log", failpoint=None)
        wait_for(
            "the new sweep waiting for the earlier jobs",
            lambda: "waiting for 2 jobs of an earlier submission" in (tmp_path / "again.log").read_text(),
            300,
            again,
        )
        for pid in jobs.values():  # the jobs finish on Slurm meanwhile
            os.kill(pid, signal.SIGCONT)
        code = again.wait(timeout=300)
    finally:
        for p in (proc, again):
            if p is not None and p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
    assert code == 0, (tmp_path / "again.log").read_text()[-3000:]
    assert [r["status"] for r in results(sweep)] == ["completed", "completed"]
    assert submitted_ids(sweep) == first  # nothing submitted again
    for job in jobs:  # each run trained once, in its first job
        log = (job / "train.log").read_text()
        assert log.count("model: ") == 1 and "resuming" not in log
        assert [h["epoch"] for h in metrics(job)["history"]] == [1, 2]


@pytest.mark.slurm
def test_ctrl_c_stops_a_slurm_sweep_its_jobs_end_interrupted_and_skip_done_completes_it(
    tmp_path, mnist_root, slurm_cluster
):
    sweep = tmp_path / "sweep"
    cmd = slurm_sweep(sweep, mnist_root, "seed=0,1,2", "hydra.launcher.array_parallelism=2")
    proc = start_sweep(cmd, tmp_path / "log")
    try:
        jobs = wait_for("two jobs halted", lambda: len(h := halted(sweep)) == 2 and h, 300, proc)
        ids = {slurm_job_id(pid) for pid in jobs.values()}
        array = next(iter(ids)).split("_")[0]
        os.killpg(proc.pid, signal.SIGINT)
        code = release(proc, sweep, {signal.SIGTERM})  # the sweep's SIGTERM reaches them through Slurm
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    out = (tmp_path / "log").read_text()
    assert code == 130, out[-3000:]
    assert last_line(out) == f"Error: sweep stopped by SIGINT (2 interrupted, 1 not started of 3 jobs); {LAST_LINE}"
    steps = {}
    for job in jobs:
        assert metrics(job)["status"] == "interrupted"
        assert metrics(job)["error"].startswith("SIGTERM at ")
        steps[job] = stopped_at(metrics(job)["error"])
    assert len(list(sweep.glob("0*"))) == 2  # the third never started
    wait_for("the array gone from the queue", lambda: "PENDING" not in squeue_state(array), 60)
    again = run_sweep([*cmd, "skip_done=true"])
    assert again.returncode == 0, again.stderr[-3000:]
    assert [r["status"] for r in results(sweep)] == ["completed"] * 3
    for job in jobs:
        assert resumed_after(job, steps[job])


# --- the launcher's Slurm pieces, without a cluster ---------------------------------------------


def _answer(returncode: int, stdout: str = "", stderr: str = "") -> subprocess.CompletedProcess:
    return subprocess.CompletedProcess([], returncode, stdout, stderr)


def test_without_accounting_the_watcher_asks_squeue_and_says_so_once(monkeypatch, caplog):
    from aelab.launchers import squeue

    asked: list[str] = []

    def run(command: list[str]) -> subprocess.CompletedProcess:
        asked.append(command[0])
        if command[0] == "sacct":
            return _answer(1, stderr="Slurm accounting storage is disabled\n")
        return _answer(0, "7_0|RUNNING\n7_2|PENDING\n")  # 7_1 has ended and left the queue

    monkeypatch.setattr(squeue, "run", run)
    watcher = squeue.SlurmWatcher()
    for job in ("7_0", "7_1", "7_2"):
        watcher.register_job(job)
    with caplog.at_level("INFO", logger="aelab.sweep"):
        watcher.update()
        watcher.update()
    assert asked == ["sacct", "squeue", "squeue"]
    said = "Slurm keeps no job accounting here (sacct: Slurm accounting storage is disabled)"
    assert [r.getMessage() for r in caplog.records] == [f"{said}: following the jobs with squeue"]
    assert [watcher.is_done(j, mode="cache") for j in ("7_0", "7_1", "7_2")] == [False, True, False]


def test_a_job_slurm_no_longer_knows_has_ended(monkeypatch):
    from aelab.launchers import squeue

    monkeypatch.setattr(
        squeue, "run", lambda command: _answer(1, stderr="slurm_load_jobs error: Invalid job id specified")
    )
    watcher = squeue.SlurmWatcher()
    watcher.accounting = False
    watcher.register_job("9")
    watcher.update()
    assert watcher.is_done("9", mode="cache")
    monkeypatch.setattr(squeue, "run", lambda command: None)  # squeue does not answer: nothing is concluded
    watcher.register_job("10")
    watcher.update()
    assert not watcher.is_done("10", mode="cache")


def test_resources_left_null_follow_the_run(monkeypatch, tiny_cfg):
    from aelab.config import to_config
    from aelab.launchers import slurm

    cpu = to_config(tiny_cfg())
    null = {"gpus_per_node": None, "cpus_per_task": None, "mem_gb": None, "partition": "cpu"}
    assert slurm.fill_resources(null, [cpu]) == {**null, "cpus_per_task": 2, "mem_gb": 3}
    threads = to_config(tiny_cfg("trainer.threads=6"))
    assert slurm.fill_resources(null, [cpu, threads])["cpus_per_task"] == 6
    monkeypatch.setattr(slurm, "partition_has_gpus", lambda partition: partition == "gpu")
    auto = to_config(tiny_cfg("device=auto"))
    assert slurm.fill_resources(null, [auto])["gpus_per_node"] is None  # partition cpu: no GPUs there
    on_gpus = slurm.fill_resources({**null, "partition": "gpu"}, [auto])
    assert (on_gpus["gpus_per_node"], on_gpus["mem_gb"]) == (1, 5)  # +2 GB of host memory with a GPU
    chosen = {"gpus_per_node": 2, "cpus_per_task": 8, "mem_gb": 40, "partition": "cpu"}
    assert slurm.fill_resources(chosen, [cpu]) == chosen
    big = to_config(tiny_cfg("model.width=4096", "depth=6"))
    need = slurm.training_bytes(big) / 2**30
    assert slurm.fill_resources(null, [cpu, big])["mem_gb"] == math.ceil(1.5 * need + slurm.PROCESS_GB) > 3


def test_only_this_sweeps_jobs_that_slurm_still_runs_are_waited_for(monkeypatch, tmp_path):
    from aelab.launchers import squeue

    folder = tmp_path / "sweep" / ".submitit"
    for name in ("41", "41_0", "41_1", "42_0", "notes"):
        (folder / name).mkdir(parents=True)
    script = folder.resolve() / ".submission_file_x.sh"
    lines = f"41_0|COMPLETED|{script}\n41_1|RUNNING|{script}\n42_0|PENDING|/elsewhere/.submission_file_y.sh\n"
    asked = []
    monkeypatch.setattr(squeue, "run", lambda command: asked.append(command) or _answer(0, lines))
    assert squeue.earlier_jobs(folder) == ["41_1"]  # 42_0 is another sweep's job (a reused id)
    assert asked[0][-1] == "--jobs=41,42"
    shutil.rmtree(folder)
    assert squeue.earlier_jobs(folder) == []
