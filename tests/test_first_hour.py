"""What a new user meets in the first hour: --help and every refusal without torch, a missing
dataset that leaves nothing behind and says why in full, one message for an interrupt, and a last
line that says how to look at the run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

POISON = "raise SystemExit('torch was imported')\n"


def cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, no_torch: bool = False
) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env or {})}
    paths = [str(REPO / "src")]
    if no_torch:  # a torch that stops the process if anything imports it
        poison = cwd / ".poison"
        (poison / "torch").mkdir(parents=True, exist_ok=True)
        (poison / "torch" / "__init__.py").write_text(POISON)
        paths.insert(0, str(poison))
    env["PYTHONPATH"] = os.pathsep.join(paths)
    cmd = [sys.executable, str(REPO / "scripts" / "train.py"), *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if ".poison" not in p.parts}


def test_help_needs_no_torch(tmp_path):
    result = cli("--help", cwd=tmp_path, no_torch=True)
    assert result.returncode == 0 and "Keys (KEY=VALUE" in result.stdout and "optimizer.lr=0.001" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["activation=foo"], "activation=foo is not valid; choose one of: identity"),
        (["dept=8"], "unknown key dept (did you mean depth?)"),
        (["+model.widht=128"], "unknown key model.widht (did you mean model.width?)"),
        (["trainer.epochs=abc"], "trainer.epochs=abc is not valid: trainer.epochs is an integer"),
        (["trainer.compile=maybe"], "trainer.compile=maybe is not valid: trainer.compile is true or false"),
        (["data.root=/nonexistent/aelab"], "MNIST handwritten digits is not in /nonexistent/aelab/MNIST/raw"),
    ],
)
def test_a_refusal_needs_no_torch_says_one_line_and_creates_nothing(tmp_path, args, message):
    (tmp_path / "work").mkdir()
    before = listing(tmp_path)
    result = cli(*args, f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path / "work", no_torch=True)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"Error: {message}") and len(result.stderr.splitlines()) == 1
    assert listing(tmp_path) == before


def test_an_occupied_or_locked_directory_is_refused_without_torch(tmp_path):
    import fcntl

    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    result = cli(f"hydra.run.dir={occupied}", cwd=tmp_path, no_torch=True)
    assert result.returncode == 2 and "is not empty (notes.txt)" in result.stderr
    locked = tmp_path / "locked"
    locked.mkdir()
    with open(locked / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = cli(f"hydra.run.dir={locked}", cwd=tmp_path, no_torch=True)
    assert result.returncode == 2 and "is in use by another run" in result.stderr


def test_a_failed_download_leaves_no_folder_behind_and_gives_its_whole_reason(tmp_path, monkeypatch):
    """data.download=true without the network (the download raises as torchvision's does): nothing
    is created under data.root, and the reason is not cut off."""
    from torchvision import datasets

    from aelab.data import check_dataset
    from aelab.errors import DataError

    def offline_download(self):
        raise RuntimeError(
            "Error downloading train-images-idx3-ubyte.gz:\nTried https://example, got:\n<urlopen error>"
        )

    monkeypatch.delenv("AELAB_OFFLINE")
    monkeypatch.setattr(datasets.MNIST, "download", offline_download)
    root = tmp_path / "data"
    with pytest.raises(DataError) as err:
        check_dataset("mnist", root, download=True)
    assert not root.exists()
    assert "downloading it failed (RuntimeError: Error downloading train-images-idx3-ubyte.gz: Tried" in str(err.value)
    assert "<urlopen error>" in str(err.value) and "\n" not in str(err.value)


TINY = ["data.limit=256", "data.eval_limit=128", "trainer.batch_size=64", "depth=2", "model.width=16", "device=cpu"]


def test_an_interrupt_is_said_once_with_how_to_resume(tmp_path, mnist_root):
    run = tmp_path / "run"
    args = [*TINY, "trainer.epochs=2", "logging=off", f"data.root={mnist_root}", f"hydra.run.dir={run}"]
    result = cli(*args, cwd=tmp_path, env={"AELAB_FAILPOINT": "step@3=int"})
    assert result.returncode == 130
    said = [line for line in (result.stdout + result.stderr).splitlines() if "interrupted" in line]
    assert said == [f"Error: run interrupted: SIGINT at epoch 1, step 3; resume with resume={run}"]


def test_the_last_line_says_how_to_look_at_the_run(tmp_path, mnist_root):
    run = tmp_path / "run"
    result = cli(*TINY, "trainer.epochs=1", f"data.root={mnist_root}", f"hydra.run.dir={run}", cwd=tmp_path)
    assert result.returncode == 0
    last = result.stdout.strip().splitlines()[-1]
    assert last.endswith(f"look at it: tensorboard --logdir {run / 'tb'}  |  aelab-evaluate {run}")


@pytest.mark.skipif(not (REPO / ".git").exists(), reason="needs the git checkout")
def test_what_pip_install_dot_leaves_in_the_checkout_is_ignored_by_git():
    """setuptools builds ``pip install .`` in ./build and ./src/*.egg-info: ``git status`` stays clean."""
    paths = ["build/lib/aelab/__init__.py", "build/bdist.linux-x86_64/x", "src/aelab.egg-info/PKG-INFO"]
    out = subprocess.run(["git", "check-ignore", *paths], cwd=REPO, capture_output=True, text=True)
    assert out.stdout.split() == paths
