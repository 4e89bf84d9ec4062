"""The fault battery's harness: the tiny run configs, the battery's context (environment, live
processes, tmpfs mounts), the reference runs every case compares with, and one case's sandbox."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .checks import PATHS, completed_problem, job_dir, need, read_json, short, snapshot
from .procs import TAG_VAR, Job, Registry, Result, poll_until

REPO = Path(__file__).resolve().parents[2]
CATEGORIES: tuple[str, ...] = (
    "crash",
    "signals",
    "corruption",
    "data",
    "security",
    "directory reuse",
    "sweeps",
    "bad inputs",
    "disk full",
    "records",
)
MNIST_FILES: tuple[str, ...] = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
TRAIN_TIMEOUT = 180.0  # seconds for one training process (they take ~5-15 s here)
QUICK_TIMEOUT = 60.0  # seconds for a command that should be refused or do nothing
SWEEP_TIMEOUT = 300.0
SECRET_VAR = "AELAB_FB_SECRET"


@dataclass(frozen=True)
class RunCfg:
    """A named set of overrides for one tiny CPU run, and its number of epochs."""

    name: str
    overrides: tuple[str, ...]
    epochs: int

    def without(self, *keys: str) -> list[str]:
        """The overrides minus those setting one of ``keys`` (for sweeps and bad inputs)."""
        return [o for o in self.overrides if o.split("=", 1)[0].lstrip("+~") not in keys]


BASE: tuple[str, ...] = (
    "device=cpu",
    "logging=off",
    "trainer.progress=false",
    "data.eval_limit=256",
    "trainer.batch_size=64",
)
# ~8 s end to end, of which start-up ~3 s and data loading ~2.5 s, training ~0.2 s
TINY = RunCfg("tiny", BASE + ("data.limit=512", "trainer.epochs=2", "model.width=16", "depth=2"), 2)
# ~0.3 s per epoch: a run long enough to be stopped in any epoch
LONG = RunCfg("long", BASE + ("data.limit=6000", "trainer.epochs=6", "model.width=32", "depth=2"), 6)
# base for bad-input cases: if a bad value is wrongly accepted the run is still short
BAD_BASE: tuple[str, ...] = (
    "device=cpu",
    "logging=off",
    "trainer.progress=false",
    "data.limit=256",
    "data.eval_limit=128",
    "trainer.epochs=1",
)
SWEEP_GRID: tuple[str, ...] = ("depth=1,2",)


class MissedWindow(Exception):
    """The fault could not be placed where the case needs it (its target ended first): the case
    runs again in a fresh directory."""


def committed(run_dir: Path) -> tuple[str, int] | None:
    """(status, epochs_completed) of the run's last commit as metrics.json holds it (None: no commit yet)."""
    try:
        m = json.loads((run_dir / "metrics.json").read_text())
        return str(m["status"]), int(m["epochs_completed"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def wait_committed(job: Job, run_dir: Path, epochs: int, timeout: float = TRAIN_TIMEOUT) -> bool:
    """Wait until the run has committed at least ``epochs`` epochs (0: its step-0 commit)."""
    return poll_until(job, lambda: (c := committed(run_dir)) is not None and c[1] >= epochs, timeout, 0.005)


def need_failpoint(res: Result, point: str, sig: int = signal.SIGKILL) -> None:
    """The process ended by the signal its fail point sends: the fault landed at that line."""
    need(res.rc == -sig, f"the fail point {point} was not reached ({res.describe()})")


class Ctx:
    """The battery's state for a session: paths, environment, live processes and mounts."""

    def __init__(self, repo: Path, root: Path, data_dir: Path, seed: int) -> None:
        self.repo, self.root, self.data_dir, self.seed = repo, root, data_dir, seed
        self.registry = Registry(os.urandom(16).hex())
        self.mounts: list[Path] = []
        self.mount_ok: bool | str | None = None
        env = dict(os.environ)
        for var in ("HYDRA_FULL_ERROR", SECRET_VAR, "PYTHONSTARTUP", "AELAB_FAILPOINT"):
            env.pop(var, None)
        env.update(
            {
                "AELAB_DATA_DIR": str(data_dir),
                "AELAB_OFFLINE": "1",
                "OMP_NUM_THREADS": "1",
                "MKL_NUM_THREADS": "1",
                TAG_VAR: self.registry.tag,
                "PYTHONPATH": os.pathsep.join(filter(None, [str(repo / "src"), env.get("PYTHONPATH")])),
            }
        )
        self.env = env

    def start(
        self,
        script: str,
        args: Sequence[str],
        cwd: Path,
        io_dir: Path,
        label: str,
        env_extra: dict[str, str] | None = None,
        rss_limit_mb: float | None = None,
    ) -> Job:
        """Start ``scripts/<script>.py args`` in ``cwd``."""
        env = {**self.env, **(env_extra or {})}
        argv = [sys.executable, str(self.repo / "scripts" / f"{script}.py"), *args]
        return Job(self.registry, argv, cwd, env, io_dir, label, rss_limit_mb)

    # --- mounts ---------------------------------------------------------------------------------
    def mount_tmpfs(self, where: Path, size: str) -> None:
        """Mount a tmpfs of ``size`` (e.g. "16m", "900k") at ``where``; skip the case when not permitted."""
        self.can_mount()
        self._mount(where, size)

    def _mount(self, where: Path, size: str) -> None:
        where.mkdir(parents=True, exist_ok=True)
        res = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if res.returncode != 0:
            pytest.skip(f"mount -t tmpfs failed: {short(res.stderr or res.stdout, 80)}")
        self.mounts.append(where)
        if not os.path.ismount(where):  # never fill up the real disk by mistake
            pytest.skip(f"mount reported success but {where} is not a mount point")

    def remount(self, where: Path, size: str) -> None:
        """Resize the tmpfs at ``where`` (frees space for a resume)."""
        res = subprocess.run(
            ["mount", "-o", f"remount,size={size}", str(where)], capture_output=True, text=True, timeout=30
        )
        need(res.returncode == 0, f"could not grow the tmpfs: {short(res.stderr, 80)}")

    def umount(self, where: Path) -> None:
        """Unmount ``where`` (lazily if busy); forget it."""
        for cmd in (["umount", str(where)], ["umount", "-l", str(where)]):
            if subprocess.run(cmd, capture_output=True, text=True, timeout=30).returncode == 0:
                break
        if where in self.mounts:
            self.mounts.remove(where)

    def umount_all(self) -> None:
        for where in reversed(list(self.mounts)):
            self.umount(where)

    def can_mount(self) -> None:
        """Skip unless tmpfs mounts work here (probed once)."""
        if self.mount_ok is None:
            where = self.root / "mount_probe"
            try:
                self._mount(where, "1m")
                self.umount(where)
                self.mount_ok = True
            except pytest.skip.Exception as err:
                self.mount_ok = str(err)
        if self.mount_ok is not True:
            pytest.skip(str(self.mount_ok))


class Refs:
    """The reference runs: trained once per session on first use, then copied, never changed.
    A reference that cannot be built fails every case that needs it, with the same reason."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.base = ctx.root / "refs"
        self._built: dict[str, Path | str] = {}

    def _memo(self, key: str, build: Callable[[], Path]) -> Path:
        if key not in self._built:
            try:
                self._built[key] = build()
            except pytest.fail.Exception as err:
                self._built[key] = f"reference '{key}': {err}"
        value = self._built[key]
        if isinstance(value, str):
            pytest.fail(value, pytrace=False)
        return value

    def _train(self, label: str, args: Sequence[str], env_extra: dict[str, str] | None = None) -> Job:
        return self.ctx.start("train", args, self.base, self.base / "io", label, env_extra)

    def reference(self, cfg: RunCfg) -> Path:
        """A completed, uninterrupted run of ``cfg``."""

        def build() -> Path:
            run_dir = self.base / cfg.name
            res = self._train(cfg.name, [*cfg.overrides, f"hydra.run.dir={run_dir}"]).wait(TRAIN_TIMEOUT)
            need(res.rc == 0, f"training failed ({res.describe()})")
            problem = completed_problem(run_dir, cfg.epochs)
            need(problem is None, f"not a completed run: {problem}")
            return run_dir

        return self._memo(cfg.name, build)

    def test_metrics(self, cfg: RunCfg) -> dict[str, Any]:
        """The test metrics of the uninterrupted run of ``cfg`` (what resumes must equal)."""
        return read_json(self.reference(cfg) / "metrics.json")["test"]

    def interrupted(self) -> Path:
        """A LONG run killed with -9 right after epoch 1's commit (last.pt, best.pt, metrics.json)."""

        def build() -> Path:
            run_dir = self.base / "long_interrupted"
            point = "wrote:metrics.json@2"  # #1 is the step-0 commit's
            job = self._train(
                "long_interrupted", [*LONG.overrides, f"hydra.run.dir={run_dir}"], {"AELAB_FAILPOINT": point}
            )
            need_failpoint(job.wait(TRAIN_TIMEOUT), point)
            need(committed(run_dir) == ("running", 1), f"killed at {committed(run_dir)}, not after epoch 1")
            need((run_dir / "checkpoints" / "best.pt").exists(), "no best.pt after epoch 1")
            return run_dir

        return self._memo("long_interrupted", build)

    def sweep(self) -> Path:
        """A completed 2-job sweep (``-m depth=1,2`` of TINY, basic launcher)."""

        def build() -> Path:
            sweep_dir = self.base / "sweep"
            args = ["-m", *SWEEP_GRID, *TINY.without("depth"), f"hydra.sweep.dir={sweep_dir}"]
            res = self._train("sweep", args).wait(SWEEP_TIMEOUT)
            need(res.rc == 0, f"sweep failed ({res.describe()})")
            for num in (0, 1):
                problem = completed_problem(job_dir(sweep_dir, num), TINY.epochs)
                need(problem is None, f"job {num}: {problem}")
            return sweep_dir

        return self._memo("sweep", build)


class Case:
    """One case's sandbox: ``work`` (its cwd and every file it touches) and ``io`` (captured output)."""

    def __init__(self, ctx: Ctx, refs: Refs, name: str, base: Path) -> None:
        self.ctx, self.refs, self.name, self.base = ctx, refs, name, base
        self.io = base / "io"
        self.io.mkdir(parents=True)
        self.rng = random.Random(f"{ctx.seed}:{name}")
        self.on_held: Callable[[str], None] = lambda reason: None
        self.attempts = 1
        self._n = 0
        self.work = base / "work"
        self._enter(self.work)

    def _enter(self, work: Path) -> None:
        self.work = work
        work.mkdir(parents=True)
        PATHS.update(work=str(work), root=str(self.ctx.root))

    def held(self, reason: str) -> None:
        """What the case saw when its contract held (shown in the battery's summary)."""
        self.on_held(reason)

    def retry(self, body: Callable[[Case], str], attempts: int = 3) -> str:
        """Run ``body``; when it raises MissedWindow, kill what it started and run it again in a
        fresh work dir (at most ``attempts`` times)."""
        missed: list[str] = []
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                self.kill_jobs()
                self._enter(self.base / f"work-{attempt}")
            self.attempts = attempt
            try:
                held = body(self)
            except MissedWindow as err:
                missed.append(str(err))
                continue
            return held + (f" (try {attempt}; before: {'; '.join(missed)})" if missed else "")
        need(False, f"missed the window {attempts} times: {'; '.join(missed)}")
        return ""

    def _label(self, what: str) -> str:
        """01-train, 02-evaluate, ...: the names of the captured output files."""
        self._n += 1
        return f"{self._n:02d}-{what}"

    def start(
        self,
        script: str,
        args: Sequence[str],
        env_extra: dict[str, str] | None = None,
        rss_limit_mb: float | None = None,
        failpoint: str | None = None,
    ) -> Job:
        """Start ``scripts/<script>.py args`` in the background, in ``work`` (stopped at ``failpoint``)."""
        env = {**(env_extra or {}), **({"AELAB_FAILPOINT": failpoint} if failpoint else {})}
        return self.ctx.start(script, args, self.work, self.io, self._label(script), env, rss_limit_mb)

    def cli(
        self,
        script: str,
        args: Sequence[str],
        timeout: float = TRAIN_TIMEOUT,
        env_extra: dict[str, str] | None = None,
        rss_limit_mb: float | None = None,
        failpoint: str | None = None,
    ) -> Result:
        """Run ``scripts/<script>.py args`` to the end (killed after ``timeout`` s)."""
        return self.start(script, args, env_extra, rss_limit_mb, failpoint).wait(timeout)

    def train(
        self,
        cfg: RunCfg | Sequence[str],
        run_dir: Path,
        *extra: str,
        timeout: float = TRAIN_TIMEOUT,
        failpoint: str | None = None,
    ) -> Result:
        """A fresh run (no resume=) of ``cfg`` plus ``extra`` overrides into ``run_dir``."""
        overrides = cfg.overrides if isinstance(cfg, RunCfg) else tuple(cfg)
        return self.cli("train", [*overrides, *extra, f"hydra.run.dir={run_dir}"], timeout, failpoint=failpoint)

    def start_train(self, cfg: RunCfg, run_dir: Path, *extra: str, failpoint: str | None = None) -> Job:
        """``train`` in the background."""
        return self.start("train", [*cfg.overrides, *extra, f"hydra.run.dir={run_dir}"], failpoint=failpoint)

    def resume(
        self,
        run_dir: Path,
        *extra: str,
        timeout: float = TRAIN_TIMEOUT,
        env_extra: dict[str, str] | None = None,
        failpoint: str | None = None,
    ) -> Result:
        """``train.py resume=<run_dir> [extra]`` as a user types it (no hydra.run.dir)."""
        return self.cli("train", [f"resume={run_dir}", *extra], timeout, env_extra, failpoint=failpoint)

    def evaluate(self, run_dir: Path, *extra: str, env_extra: dict[str, str] | None = None) -> Result:
        """``evaluate.py <run_dir> [extra]``."""
        return self.cli("evaluate", [str(run_dir), *extra], QUICK_TIMEOUT + 30, env_extra)

    def copy_run(self, src: Path, name: str = "run") -> Path:
        """A private copy of a reference run (or sweep) dir, symlinks kept as symlinks."""
        return Path(shutil.copytree(src, self.work / name, symlinks=True))

    def kill_jobs(self) -> None:
        """kill -9 every process this case started that is still running."""
        for job in [j for j in self.ctx.registry.jobs if j.out_path.parent == self.io]:
            job.kill9()

    def snap(self) -> dict[str, Any]:
        """Snapshot of everything the case may touch (its cwd included: a stray ./outputs shows)."""
        return snapshot(self.work)

    def resume_to_completion(self, run_dir: Path, cfg: RunCfg, what: str = "resume") -> Result:
        """``resume=`` must exit 0 and leave a completed run identical to the reference."""
        ref_test = self.refs.test_metrics(cfg)
        res = self.resume(run_dir)
        need(res.rc == 0, f"{what}: {res.describe()}")
        problem = completed_problem(run_dir, cfg.epochs, ref_test)
        need(problem is None, f"after {what}: {problem}")
        return res

    def delay(self, lo: float, hi: float) -> float:
        """A seeded random delay in [lo, hi) s, slept; halved on each retry of a missed window."""
        d = self.rng.uniform(lo, hi) / 2 ** (self.attempts - 1)
        time.sleep(d)
        return d
