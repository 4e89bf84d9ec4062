"""A run's records can be trusted: no run is overwritten, mixed, downgraded or silently wrong.

Faults are injected by the tests themselves: a subprocess that SIGKILLs itself at a known write,
a second real process on a locked directory, bytes flipped in checkpoints and in a copy of MNIST,
a sweep job killed from outside, a full tmpfs. Runs are tiny (512 images, width 16) on real MNIST.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from aelab.errors import CorruptFileError, DataError, RunDirError
from aelab.training.loop import train
from conftest import REPO

TINY = [
    "data.limit=512",
    "data.eval_limit=256",
    "trainer.epochs=3",
    "trainer.batch_size=64",
    "model.width=16",
    "depth=2",
    "device=cpu",
    "logging=off",
    "trainer.progress=false",
    "trainer.threads=1",  # bit-for-bit comparisons across processes: one summation order, whatever ran before
]


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under ``root`` with its kind, size, mtime and content hash: a change anywhere shows."""
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        digest = (
            hashlib.sha256(p.read_bytes()).hexdigest()
            if stat.S_ISREG(st.st_mode)
            else os.readlink(p)
            if p.is_symlink()
            else None
        )
        out[str(p.relative_to(root))] = (stat.S_IFMT(st.st_mode), st.st_size, st.st_mtime_ns, digest)
    return out


def cli(*args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "scripts/train.py", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout
    )


def history(run: Path) -> list[int]:
    return [h["epoch"] for h in json.loads((run / "metrics.json").read_text())["history"]]


@pytest.fixture(scope="module")
def reference(tmp_path_factory, mnist_root):
    """One completed tiny run (3 epochs): (its dir, its metrics)."""
    from aelab.config import compose

    run = tmp_path_factory.mktemp("ref") / "run"
    metrics = train(compose([*TINY, f"data.root={mnist_root}"]), run_dir=run)
    assert metrics["status"] == "completed"
    return run, metrics


@pytest.fixture
def copy_of(reference, tmp_path):
    def make(name: str = "run") -> Path:
        return Path(shutil.copytree(reference[0], tmp_path / name, symlinks=True))

    return make


def cfg(mnist_root, *extra: str):
    from aelab.config import compose

    return compose([*TINY, f"data.root={mnist_root}", *extra])


# --- a run directory belongs to one run ----------------------------------------------------------


def test_a_dir_holding_a_run_is_refused_and_left_untouched(copy_of, mnist_root):
    run = copy_of()
    before = snapshot(run.parent)
    for extra in ((), ("depth=3",), ("optimizer.lr=1e30", "optimizer=sgd", "optimizer.beta=1.0")):
        with pytest.raises(RunDirError, match=f"{run} already holds a completed run, 3 of 3 epochs"):
            train(cfg(mnist_root, *extra), run_dir=run)
    refused = cli(*TINY, f"data.root={mnist_root}", "depth=0", f"hydra.run.dir={run}")
    assert refused.returncode == 2 and refused.stderr.startswith("Error: depth=0 is out of range")
    occupied = cli(*TINY, f"data.root={mnist_root}", "depth=3", f"hydra.run.dir={run}")
    assert occupied.returncode == 2 and f"resume={run}, skip it with skip_done=true" in occupied.stderr
    assert snapshot(run.parent) == before  # not even .hydra/config.yaml was rewritten


def test_a_second_process_on_a_locked_dir_is_refused_at_once(tmp_path, mnist_root):
    from aelab.training.rundir import RunDir

    run = tmp_path / "run"
    first = subprocess.Popen(
        [
            sys.executable,
            "scripts/train.py",
            *TINY,
            "trainer.epochs=2000",
            f"data.root={mnist_root}",
            "seed=0",
            f"hydra.run.dir={run}",
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while RunDir(run).holder() is None:
            assert first.poll() is None and time.monotonic() < deadline, "the first run never took its lock"
            time.sleep(0.2)
        started = time.monotonic()
        second = cli(*TINY, f"data.root={mnist_root}", "seed=1", f"hydra.run.dir={run}")
        assert second.returncode == 2
        assert (
            second.stderr.strip() == f"Error: {run} is in use by another run (pid {first.pid}); wait for it "
            "to end, or choose another directory"
        )
        assert time.monotonic() - started < 60  # at once, not after the first one finished
        resume = cli(*TINY, f"resume={run}")
        assert resume.returncode == 2 and "in use by another run" in resume.stderr
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=120)
    assert first.returncode == 130  # interrupted, as asked; and only its own records are there
    saved = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert saved["config"]["seed"] == 0 and json.loads((run / "metrics.json").read_text())["hparams"]["seed"] == 0


# --- the checkpoint is the one source of truth ---------------------------------------------------

KILL_AT = """
import os, signal, sys
from pathlib import Path
import aelab.training.commit as commit
import aelab.training.loop as loop
from aelab.config import compose
target, name, nth = sys.argv[1], sys.argv[2], int(sys.argv[3])
original, seen = getattr(commit, target), []

def killing(path, *args, **kwargs):
    if Path(path).name == name:
        seen.append(path)
        if len(seen) == nth:  # SIGKILL, as the OOM killer or kill -9 would: no cleanup runs
            os.kill(os.getpid(), signal.SIGKILL)
    return original(path, *args, **kwargs)

setattr(commit, target, killing)
loop.train(compose(sys.argv[5:]), run_dir=sys.argv[4])
"""


def kill_at(target: str, name: str, nth: int, run: Path, overrides: list[str]) -> int:
    """Run train() in a subprocess that SIGKILLs itself before its ``nth`` call of ``target`` on ``name``."""
    proc = subprocess.run(
        [sys.executable, "-c", KILL_AT, target, name, str(nth), str(run), *overrides],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    return proc.returncode


@pytest.mark.parametrize(
    "target, name, nth",
    [
        ("write_json", "metrics.json", 3),  # killed after epoch 2's last.pt, before its metrics.json
        ("save_checkpoint", "best.pt", 2),  # killed after epoch 2's last.pt, before its best.pt
        ("save_checkpoint", "last.pt", 1),  # killed before the first checkpoint: started again from its config
    ],
)
def test_a_kill_between_two_writes_then_resume_gives_the_uninterrupted_run(
    reference, tmp_path, mnist_root, target, name, nth
):
    ref_dir, ref = reference
    run = tmp_path / "run"
    assert kill_at(target, name, nth, run, [*TINY, f"data.root={mnist_root}"]) == -signal.SIGKILL
    resumed = train(cfg(mnist_root, f"resume={run}"))
    assert resumed["status"] == "completed"
    assert history(run) == [1, 2, 3] and resumed["epochs_completed"] == 3
    assert resumed["test"] == ref["test"] and resumed["grad_norms_init"] == ref["grad_norms_init"]
    assert [h["val"] for h in resumed["history"]] == [h["val"] for h in ref["history"]]
    for which in ("best", "last"):
        ours = torch.load(run / "checkpoints" / f"{which}.pt", weights_only=True)
        theirs = torch.load(ref_dir / "checkpoints" / f"{which}.pt", weights_only=True)
        assert all(torch.equal(ours["model"][k], theirs["model"][k]) for k in theirs["model"])


def test_a_deleted_or_damaged_metrics_json_is_rewritten_from_last_pt(reference, copy_of, mnist_root):
    _, ref = reference
    for damage in ("delete", "garbage"):
        run = copy_of(damage)
        if damage == "delete":
            (run / "metrics.json").unlink()
        else:
            (run / "metrics.json").write_text("{not json")
        done = cli(*TINY, f"resume={run}")
        assert done.returncode == 0 and "is complete" in done.stdout
        assert json.loads((run / "metrics.json").read_text())["test"] == ref["test"]
        assert history(run) == [1, 2, 3]


def test_a_completed_run_is_final_even_with_a_damaged_best_pt(copy_of):
    run = copy_of()
    best = run / "checkpoints" / "best.pt"
    data = bytearray(best.read_bytes())
    data[len(data) // 2] ^= 0xFF
    best.write_bytes(bytes(data))
    before = snapshot(run)
    done = cli(*TINY, f"resume={run}")
    assert done.returncode == 0 and f"{run} is complete (test sq_err_per_image=" in done.stdout
    assert snapshot(run) == before  # not touched, not downgraded


def test_skip_done_skips_only_the_same_run(copy_of, mnist_root):
    run = copy_of()
    before = snapshot(run)
    same = train(cfg(mnist_root, "skip_done=true", "device=cpu", "trainer.progress=true"), run_dir=run)
    assert same["status"] == "completed"
    with pytest.raises(
        RunDirError, match="holds a different run, so skip_done=true does not skip it: depth: 2 there vs 3 now"
    ):
        train(cfg(mnist_root, "skip_done=true", "depth=3"), run_dir=run)
    with pytest.raises(RunDirError, match=r"optimizer\.lr: 0\.001 there vs 0\.05 now"):
        train(cfg(mnist_root, "skip_done=true", "optimizer.lr=0.05"), run_dir=run)
    assert snapshot(run) == before


# --- integrity ------------------------------------------------------------------------------------


def _damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "flip":  # 100 bytes in the middle, as in the issue
        rng = random.Random(0)
        for _ in range(100):
            data[rng.randrange(len(data) // 4, 3 * len(data) // 4)] ^= 0xFF
    elif how == "truncate":
        data = data[: len(data) // 2]
    else:
        data = bytearray()
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "how, message",
    [
        ("flip", "is corrupt: its SHA-256 differs from the one recorded"),
        ("truncate", "is corrupt: its SHA-256 differs"),
        ("empty", "is empty (0 bytes)"),
    ],
)
def test_a_damaged_checkpoint_is_named_in_one_line(copy_of, how, message):
    from aelab.runs import evaluate_run, load_run

    run = copy_of()
    _damage(run / "checkpoints" / "best.pt", how)
    with pytest.raises(CorruptFileError) as err:
        evaluate_run(run, device="cpu")
    assert str(err.value).startswith(f"{run / 'checkpoints' / 'best.pt'} {message}")
    _damage(run / "checkpoints" / "last.pt", how)
    with pytest.raises(CorruptFileError, match=f"^{run / 'checkpoints' / 'last.pt'}"):
        load_run(run, "last")


def test_evaluate_and_resume_refuse_a_damaged_checkpoint_from_the_cli(copy_of):
    run = copy_of()
    _damage(run / "checkpoints" / "best.pt", "flip")
    result = subprocess.run(
        [sys.executable, "scripts/evaluate.py", str(run), "--device", "cpu"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert (
        result.stderr == f"Error: {run}/checkpoints/best.pt is corrupt: its SHA-256 differs from the one "
        "recorded when it was written (best.pt.sha256)\n"
    )
    ckpt = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    ckpt["record"]["status"] = "interrupted"  # an unfinished run (its hash no longer matches, too)
    torch.save(ckpt, run / "checkpoints" / "last.pt")
    resumed = cli(*TINY, f"resume={run}")
    assert resumed.returncode == 2 and resumed.stderr.startswith(f"Error: {run}/checkpoints/last.pt is corrupt")
    assert len(resumed.stderr.splitlines()) == 1 and "Traceback" not in resumed.stderr


def test_resume_names_a_damaged_best_pt_but_repairs_an_older_one(copy_of, mnist_root):
    run = copy_of()
    _unfinished(run)
    best = run / "checkpoints" / "best.pt"
    good = best.read_bytes()
    _damage(best, "flip")
    before = snapshot(run)
    damaged = cli(*TINY, f"resume={run}")
    assert (
        damaged.returncode == 2
        and damaged.stderr
        == f"Error: {best} is corrupt: its SHA-256 differs from the one recorded when it was written (best.pt.sha256)\n"
    )
    assert snapshot(run) == before  # refused before anything is written
    from aelab.files import write_verified

    older = io.BytesIO(good)
    stale = torch.load(older, weights_only=True)
    stale["model"] = {k: torch.zeros_like(v) for k, v in stale["model"].items()}
    buffer = io.BytesIO()
    torch.save(stale, buffer)
    write_verified(best, buffer.getvalue())  # valid by its own hash, but not the best.pt that last.pt names
    repaired = train(cfg(mnist_root, f"resume={run}"))
    assert repaired["status"] == "completed"
    weights = torch.load(best, weights_only=True)["model"]
    expected = torch.load(io.BytesIO(good), weights_only=True)["model"]
    assert all(torch.equal(weights[k], expected[k]) for k in expected)  # rewritten from last.pt's best weights


def test_a_forged_pickle_is_refused_and_never_runs(copy_of, tmp_path):
    from aelab.files import write_verified
    from aelab.runs import load_run

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'PWNED'}",))

    run = copy_of()
    buffer = io.BytesIO()
    torch.save({"model": Payload(), "config": {}}, buffer)
    write_verified(run / "checkpoints" / "best.pt", buffer.getvalue())  # even with its hash recorded
    with pytest.raises(CorruptFileError) as err:
        load_run(run)
    assert (
        str(err.value) == f"{run}/checkpoints/best.pt holds Python objects other than tensors and plain "
        "containers; refusing to load it"
    )
    assert "weights_only" not in str(err.value) and not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize(
    "how, message",
    [
        ("flip", "is corrupt: its SHA-256 differs from the published one"),
        ("truncate", "is truncated: 47,039,016 bytes, its header (60000 × 28 × 28 images) needs 47,040,016"),
        ("magic", "is not an IDX image file: magic number 0x12345678, expected 0x00000803"),
    ],
)
def test_damaged_mnist_files_are_named_with_what_is_wrong(tmp_path_factory, mnist_root, how, message):
    root = tmp_path_factory.mktemp(how)
    shutil.copytree(mnist_root / "MNIST", root / "MNIST")
    images = root / "MNIST" / "raw" / "train-images-idx3-ubyte"
    images.chmod(0o644)
    data = bytearray(images.read_bytes())
    if how == "flip":  # 10% of the bytes
        rng = random.Random(1)
        for _ in range(len(data) // 10):
            data[rng.randrange(16, len(data))] = rng.randrange(256)
    elif how == "truncate":
        data = data[:-1000]
    else:
        data[:4] = b"\x12\x34\x56\x78"
    images.write_bytes(bytes(data))
    with pytest.raises(DataError) as err:
        train(cfg(root and mnist_root, f"data.root={root}"), run_dir=root / "run")
    assert str(err.value) == f"{images} {message}" + (
        " (size and header are right, so bytes were changed); replace the file" if how == "flip" else ""
    )
    assert "download" not in str(err.value) and not (root / "run").exists()


# --- sweeps survive a dying job ------------------------------------------------------------------


@pytest.mark.slow  # ~40 s; the fault battery's test_kill9_worker covers it too
def test_a_killed_sweep_job_is_recorded_as_crashed_and_the_sweep_goes_on(tmp_path, mnist_root):
    sweep = tmp_path / "sweep"
    proc = subprocess.Popen(
        [
            sys.executable,
            "scripts/train.py",
            "-m",
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
            *[o for o in TINY if not o.startswith(("depth", "trainer.epochs"))],
            "trainer.epochs=30",
            f"data.root={mnist_root}",
            "depth=1,2",
            "activation=relu,tanh",
            "hydra.callbacks.report.recon=false",
            f"hydra.sweep.dir={sweep}",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline, victim = time.monotonic() + 180, None
        while victim is None:  # a job process (a child of the sweep) training, past its first checkpoint
            assert proc.poll() is None and time.monotonic() < deadline
            children = subprocess.run(
                ["ps", "--ppid", str(proc.pid), "-o", "pid="], capture_output=True, text=True
            ).stdout.split()
            for lock in sweep.glob("*/.lock"):
                pid = lock.read_text().strip()
                if pid in children and (lock.parent / "checkpoints" / "last.pt").exists():
                    victim = int(pid)
            time.sleep(0.2)
        os.kill(victim, signal.SIGKILL)
        _, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
    import csv

    rows = list(csv.DictReader((sweep / "results.csv").open()))
    assert sorted(r["status"] for r in rows) == ["completed", "completed", "completed", "crashed"]
    crashed = next(r for r in rows if r["status"] == "crashed")
    assert crashed["error"] == "the job's process was killed by SIGKILL"
    assert "| crashed |" in (sweep / "report.md").read_text()
    # skip_done completes it: the crashed job resumes from its last checkpoint, the others are skipped
    again = cli(
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        *[o for o in TINY if not o.startswith(("depth", "trainer.epochs"))],
        "trainer.epochs=30",
        f"data.root={mnist_root}",
        "depth=1,2",
        "activation=relu,tanh",
        "hydra.callbacks.report.recon=false",
        f"hydra.sweep.dir={sweep}",
        "skip_done=true",
        timeout=600,
    )
    assert again.returncode == 0, again.stderr[-2000:]
    assert [r["status"] for r in csv.DictReader((sweep / "results.csv").open())] == ["completed"] * 4


@pytest.mark.slow  # ~14 s; the fault battery's test_different_sweep_refused covers it too
def test_a_second_sweep_on_a_sweep_dir_is_refused(tmp_path, mnist_root):
    sweep = tmp_path / "sweep"
    base = [
        *[o for o in TINY if not o.startswith("depth")],
        "trainer.epochs=1",
        f"data.root={mnist_root}",
        "hydra.callbacks.report.recon=false",
        f"hydra.sweep.dir={sweep}",
    ]
    first = cli("-m", *base, "depth=1,2")
    assert first.returncode == 0, first.stderr[-2000:]
    before = snapshot(sweep)
    other = cli("-m", *base, "depth=1,3", "skip_done=true")
    assert other.returncode == 2 and "already holds a sweep of another grid" in other.stderr
    again = cli("-m", *base, "depth=1,2")
    assert again.returncode == 2 and "complete it with skip_done=true and the same overrides" in again.stderr
    assert snapshot(sweep) == before


# --- disk full ------------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=500k", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_is_one_line_and_the_run_resumes_consistently(small_disk, reference, mnist_root):
    run = small_disk / "run"
    full = cli(*TINY, f"data.root={mnist_root}", f"hydra.run.dir={run}")
    assert full.returncode == 1
    assert full.stderr == f"Error: run failed: no space left on device: {run}/checkpoints/last.pt\n"
    metrics = json.loads((run / "metrics.json").read_text())
    last = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert metrics["status"] == "failed" and metrics["epochs_completed"] == last["record"]["epochs_completed"]
    assert subprocess.run(["mount", "-o", "remount,size=20m", str(small_disk)]).returncode == 0
    resumed = train(cfg(mnist_root, f"resume={run}"))
    assert resumed["status"] == "completed" and history(run) == [1, 2, 3]
    assert resumed["test"] == reference[1]["test"]


# --- files are data ---------------------------------------------------------------------------------


def _unfinished(run: Path) -> None:
    """Make a copied completed run look interrupted after epoch 3's commit (hash re-recorded)."""
    from aelab.files import write_verified
    from aelab.training.checkpoint import serialize

    ckpt = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    ckpt["record"]["status"] = "interrupted"
    write_verified(run / "checkpoints" / "last.pt", serialize(ckpt))


def test_a_train_log_link_is_never_written_through(copy_of, tmp_path):
    run = copy_of()
    _unfinished(run)
    outside = tmp_path / "outside.txt"
    outside.write_text("untouched\n")
    (run / "train.log").unlink()
    (run / "train.log").symlink_to(outside)
    result = cli(*TINY, f"resume={run}")
    assert result.returncode == 2
    assert (
        result.stderr.strip() == f"Error: {run}/train.log is a symbolic link (to {outside}); aelab does not "
        "write through links: remove it"
    )
    assert outside.read_text() == "untouched\n"


def test_a_stored_config_is_never_interpolated(copy_of, mnist_root, monkeypatch):
    from aelab.files import write_verified
    from aelab.training.checkpoint import serialize

    monkeypatch.setenv("AELAB_TEST_SECRET", "hunter2")
    run = copy_of()
    ckpt = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    ckpt["record"]["status"] = "interrupted"
    ckpt["config"]["data"]["split_seed"] = 0
    ckpt["config"]["model"]["init"] = "${oc.env:AELAB_TEST_SECRET}"
    write_verified(run / "checkpoints" / "last.pt", serialize(ckpt))  # forged with its hash re-recorded
    from aelab.errors import ConfigError

    result = cli(*TINY, f"resume={run}")  # resume= alone: the run's own config
    assert result.returncode == 2
    assert (
        result.stderr == "Error: model.init=${oc.env:AELAB_TEST_SECRET} is not valid; choose one of: auto, "
        "xavier, kaiming, torch_default\n"
    )
    with pytest.raises(ConfigError, match="AELAB_TEST_SECRET"):
        train(cfg(mnist_root, f"resume={run}"))
    assert not any(b"hunter2" in p.read_bytes() for p in run.rglob("*") if p.is_file())


def test_run_files_share_one_mode(reference):
    run, _ = reference
    modes = {oct(p.stat().st_mode & 0o777) for p in run.rglob("*") if p.is_file()}
    assert modes == {oct(0o666 & ~_umask())}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _default_sigint() -> None:
    """In a child: SIGINT as a terminal gives it, even when this process was started with it ignored
    (a background job of a script), which Python would otherwise keep."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _stopped(pid: int) -> bool:
    """Whether process ``pid`` is stopped (SIGSTOP): state T in /proc/<pid>/stat."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"


def test_ctrl_c_during_start_up_prints_no_traceback(tmp_path, mnist_root):
    """Ctrl-C 0.3 s and 1.5 s after the command's guard is entered (importing torch and Hydra, then
    composing): one stderr line, exit 130. The process stops itself at the guard's first line (fail
    point ``startup``), so a loaded machine cannot move the signal before it."""
    for delay in (0.3, 1.5):
        proc = subprocess.Popen(
            [
                sys.executable,
                "scripts/train.py",
                *TINY,
                f"data.root={mnist_root}",
                f"hydra.run.dir={tmp_path / str(delay)}",
            ],
            cwd=REPO,
            env={**os.environ, "AELAB_FAILPOINT": "startup=stop"},
            preexec_fn=_default_sigint,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not _stopped(proc.pid):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        proc.send_signal(signal.SIGCONT)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        err = proc.communicate(timeout=120)[1]
        assert proc.returncode == 130 and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1


def _as_saved_before(run, group: str, key: str) -> None:
    """Make ``run`` what an interrupted run recorded before ``<group>.<key>`` existed left behind:
    the key gone from last.pt's config and .hydra/config.yaml, the status interrupted, no best.pt."""
    import yaml

    from aelab.files import write_verified
    from aelab.training.checkpoint import serialize

    ckpt = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    del ckpt["config"][group][key]
    ckpt["record"]["status"] = "interrupted"
    write_verified(run / "checkpoints" / "last.pt", serialize(ckpt))
    (run / "checkpoints" / "best.pt").unlink(missing_ok=True)
    saved = yaml.safe_load((run / ".hydra" / "config.yaml").read_text())
    del saved[group][key]
    (run / ".hydra" / "config.yaml").write_text(yaml.safe_dump(saved))


def test_a_conv_run_saved_before_conv_kernel_is_the_unfold_run_it_was(tiny_cfg, tmp_path):
    """A conv run recorded before model.conv_kernel existed computed its convolutions by unfolding:
    load_run builds it so, skip_done skips it when asked for unfold and refuses it for primitive,
    and resume continues it with unfold."""
    from aelab.errors import ConfigError
    from aelab.runs import load_run

    base = ("model=conv", "depth=1", "trainer.epochs=1")
    run = tmp_path / "old"
    assert train(tiny_cfg(*base, "model.conv_kernel=unfold"), run_dir=run)["status"] == "completed"
    _as_saved_before(run, "model", "conv_kernel")

    loaded = load_run(run)
    assert loaded.config.model.conv_kernel == "unfold"
    assert {layer.kernel for _, layer in loaded.model.layers() if hasattr(layer, "kernel")} == {"unfold"}
    with pytest.raises(RunDirError, match=r"model\.conv_kernel: 'unfold' there vs 'primitive' now"):
        train(tiny_cfg(*base, "skip_done=true"), run_dir=run)
    with pytest.raises(ConfigError, match=r"model\.conv_kernel: checkpoint 'unfold' vs now 'primitive'"):
        train(tiny_cfg(*base, f"resume={run}"))
    resumed = train(tiny_cfg(*base, "model.conv_kernel=unfold", "skip_done=true"), run_dir=run)
    assert resumed["status"] == "completed" and resumed["hparams"]["model"]["conv_kernel"] == "unfold"


def test_a_run_saved_before_fused_anneal_and_unshifted_last_is_the_run_it_was(tiny_cfg, tmp_path):
    """A run recorded before optimizer.fused, optimizer.anneal_strategy and
    data.unshifted_last_epochs existed stepped with the per-parameter loop and OneCycleLR's cos, and
    shifted every epoch: load_run reads it so, skip_done refuses it for fused=true or
    unshifted_last_epochs=1 and resumes it for the defaults."""
    from aelab.runs import load_run

    run = tmp_path / "old"
    assert train(tiny_cfg("trainer.epochs=2"), run_dir=run)["status"] == "completed"
    _as_saved_before(run, "optimizer", "fused")
    _as_saved_before(run, "optimizer", "anneal_strategy")
    _as_saved_before(run, "data", "unshifted_last_epochs")

    loaded = load_run(run).config
    assert loaded.optimizer.fused is False and loaded.optimizer.anneal_strategy == "cos"
    assert loaded.data.unshifted_last_epochs == 0
    with pytest.raises(RunDirError, match=r"data\.unshifted_last_epochs: 0 there vs 1 now"):
        train(tiny_cfg("trainer.epochs=2", "data.unshifted_last_epochs=1", "skip_done=true"), run_dir=run)
    with pytest.raises(RunDirError, match=r"optimizer\.fused: False there vs True now"):
        train(tiny_cfg("trainer.epochs=2", "optimizer.fused=true", "skip_done=true"), run_dir=run)
    resumed = train(tiny_cfg("trainer.epochs=2", "skip_done=true"), run_dir=run)
    assert resumed["status"] == "completed" and resumed["hparams"]["optimizer"]["fused"] is False
    assert resumed["hparams"]["optimizer"]["anneal_strategy"] == "cos"
    assert resumed["hparams"]["data"]["unshifted_last_epochs"] == 0


CTRL_C_INSIDE_TORCH = """
import os, signal, sys

class CtrlCInsideTorch:  # Ctrl-C lands deep in numpy's import, which torch's C extension makes
    def find_spec(self, name, path=None, target=None):
        if name == "numpy._typing":
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, CtrlCInsideTorch())
from aelab.hardware import import_torch
try:
    import_torch()
except KeyboardInterrupt:
    import torch, numpy
    torch.from_numpy(numpy.zeros(2))  # torch kept numpy: nothing was swallowed on the way
    sys.exit(130)
sys.exit(0)
"""


def test_a_ctrl_c_inside_torchs_import_is_neither_lost_nor_an_abort():
    """A Ctrl-C inside torch's import lands in C++ that swallows it (the run would go on) or aborts
    the process. import_torch (the run's first torch import) holds it until torch is imported and
    then raises KeyboardInterrupt, with torch whole."""
    argv = [sys.executable, "-c", CTRL_C_INSIDE_TORCH]
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, preexec_fn=_default_sigint)
    assert proc.returncode == 130, proc.stderr[-2000:]
