#!/usr/bin/env python
"""Fault battery: drive aelab's CLI the way a user would and check its robustness contract.

    python scripts/fault_battery.py                       # the default 74 cases (about 7-8 minutes on 2 cores)
    python scripts/fault_battery.py --quick               # a representative subset of 17 (about 2 minutes)
    python scripts/fault_battery.py --extended            # also 17 more variants (about 3 minutes more)
    python scripts/fault_battery.py --only crash sweeps   # some categories ("directory-reuse" = "directory reuse")
    python scripts/fault_battery.py --only kill9_twice    # or single cases (--list --extended names them all)
    python scripts/fault_battery.py --keep --json /tmp/fb.json   # keep the scratch dir (outputs in cases/*/io)

Every case is a small function that runs ``scripts/train.py`` / ``scripts/evaluate.py`` as
subprocesses in a fresh temporary directory (its own working directory, so a stray ``./outputs``
shows up), breaks something (kill -9, signals, flipped bytes, a full disk, a bad override...) and
checks what the user sees and what is left on disk. A case returns "held" or raises ``Fail`` with a
one-line reason; a case that cannot run here (e.g. no tmpfs mount) is "skipped". The process
exits 0 only when no case failed.

The contract checked (abridged):

1. a run directory belongs to one run: fresh runs into occupied dirs, second processes on a live
   run, and a second/different sweep on a sweep dir are refused;
2. a refused input exits non-zero with ONE stderr line ``Error: ...`` (no traceback, no
   ``HYDRA_FULL_ERROR``/``object_type``) and creates/changes nothing (full listing compared:
   paths, sizes, mtimes, modes, content hashes);
3. the checkpoint is the source of truth: after any kill, ``resume=`` completes to one history
   record per epoch and test metrics bit-identical (CPU) to an uninterrupted run; ``resume=`` on a
   completed run is a no-op;
4. ``skip_done=true`` only skips the same run;
5. damaged checkpoints and MNIST files are refused with one line naming the file;
6. a joblib sweep survives a worker killed with -9;
7. bad overrides are refused fast, naming the key;
8. disk full, garbage metrics.json, malicious pickles, symlinked train.log, ``${oc.env:...}`` in a
   stored config, one permission mode for run files;
9. SIGINT/SIGTERM mark the run interrupted and resume bit-identically; Ctrl-C at start-up prints
   no traceback.

Where the contract leaves room, the battery reads it so:

* ``resume=/nonexistent/dir`` uses a nonexistent dir inside the case's scratch dir (nothing under / is touched);
* a run killed before its first checkpoint holds if ``resume=`` completes it, or if ``resume=`` refuses
  in one line and a fresh run of the same config in that same dir completes (the dir is never stuck);
* a damaged best.pt of an interrupted run must make ``resume=`` refuse, even if training would overwrite it;
* disk full: exactly one stderr line says "no space left on device" and holds the run dir's absolute
  path, and no traceback appears in stdout or stderr; if the run finished all its writes before
  the disk filled (complete and identical result), the case holds;
* "changes nothing" compares directory mtimes too, and the case's cwd (a new ./outputs is a change);
* the identical sweep rerun without skip_done may be refused or exit 0, but no job's files change;
* results.csv rows are matched by their ``job`` column; skipped cases do not fail the battery.

Resource rules: at most ``--jobs`` (default 2) busy processes at once, one torch thread each,
every subprocess has a timeout after which its whole process group is killed, tmpfs mounts are
always unmounted, and every process the battery started (tagged through an environment variable)
is gone when it exits.
"""

from __future__ import annotations

import argparse
import csv
import errno
import hashlib
import json
import os
import pickle
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
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
TAG_VAR = "AELAB_FB_TAG"
SECRET_VAR = "AELAB_FB_SECRET"
FORBIDDEN_IN_REFUSAL = ("Traceback", "HYDRA_FULL_ERROR", "object_type")


# --------------------------------------------------------------------------------------------
# outcomes
# --------------------------------------------------------------------------------------------


class Fail(Exception):
    """The contract did not hold; the message is the one-line reason."""


class Skip(Exception):
    """The case cannot run in this environment; the message says why."""


def need(cond: bool, reason: str) -> None:
    """Raise ``Fail(reason)`` unless ``cond``."""
    if not cond:
        raise Fail(reason)


def need_job(cond: bool, job: Job, reason: str) -> None:
    """Like ``need``; on failure also say how ``job`` ended (it is given 5 s, then killed)."""
    if not cond:
        raise Fail(f"{reason} ({job.wait(5).describe()})")


_PATHS = threading.local()  # (case work dir, scratch root) of the case this thread runs


def short(text: str, n: int = 150) -> str:
    """One line of at most ``n`` characters; the running case's paths are shortened first."""
    text = " ".join(str(text).split())
    work, root = getattr(_PATHS, "value", (None, None))
    if work:
        text = text.replace(f"{work}/", "").replace(work, ".").replace(root, "<scratch>")
    return text if len(text) <= n else text[: n - 3] + "..."


# --------------------------------------------------------------------------------------------
# configurations
# --------------------------------------------------------------------------------------------


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
# ~0.3 s per epoch: random kills land in training
LONG = RunCfg("long", BASE + ("data.limit=6000", "trainer.epochs=6", "model.width=32", "depth=2"), 6)
# ~12 s of training: a run that is surely in progress while a second process starts
HOLD = RunCfg("hold", BASE + ("data.limit=6000", "trainer.epochs=40", "model.width=32", "depth=2"), 40)
# base for bad-input cases: if a bad value is wrongly accepted the run is still short
BAD_BASE: tuple[str, ...] = (
    "device=cpu",
    "logging=off",
    "trainer.progress=false",
    "data.limit=256",
    "data.eval_limit=128",
    "trainer.epochs=1",
)


# --------------------------------------------------------------------------------------------
# processes
# --------------------------------------------------------------------------------------------


@dataclass
class Result:
    """What a finished (or killed) subprocess left: exit code, output, time."""

    argv: list[str]
    rc: int | None
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False
    rss_exceeded_mb: float | None = None

    @property
    def output(self) -> str:
        return self.stdout + "\n" + self.stderr

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    def describe(self) -> str:
        """rc and the last stderr line, for reasons."""
        last = self.err_lines[-1] if self.err_lines else "(no stderr)"
        state = "timed out" if self.timed_out else f"rc={self.rc}"
        return f"{state}, stderr: {short(last, 110)}"


def proc_table() -> dict[int, tuple[int, int]]:
    """pid -> (ppid, pgrp) of every process, read from /proc."""
    table: dict[int, tuple[int, int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        rest = stat[stat.rfind(")") + 2 :].split()  # state ppid pgrp ...
        try:
            table[int(entry)] = (int(rest[1]), int(rest[2]))
        except (IndexError, ValueError):
            continue
    return table


def descendants(pid: int) -> list[int]:
    """All live descendants of ``pid`` (children, grandchildren, ...)."""
    table = proc_table()
    children: dict[int, list[int]] = {}
    for p, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(p)
    out: list[int] = []
    todo = list(children.get(pid, []))
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def has_tag(pid: int, tag: str) -> bool:
    """Whether process ``pid`` carries this battery's environment tag (so it is ours)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return f"{TAG_VAR}={tag}".encode() in f.read().split(b"\0")
    except OSError:
        return False


def open_files(pid: int) -> list[str]:
    """Paths of the files process ``pid`` holds open (like lsof -p)."""
    out: list[str] = []
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return out
    for fd in fds:
        try:
            out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
    return out


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MiB (0 when unknown)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


class Job:
    """A subprocess in its own process group, with stdout/stderr captured to files."""

    def __init__(
        self,
        ctx: Ctx,
        argv: list[str],
        cwd: Path,
        env: dict[str, str],
        io_dir: Path,
        label: str,
        rss_limit_mb: float | None = None,
    ) -> None:
        self.ctx = ctx
        self.argv = argv
        self.label = label
        self.rss_limit_mb = rss_limit_mb
        io_dir.mkdir(parents=True, exist_ok=True)
        self.out_path = io_dir / f"{label}.out"
        self.err_path = io_dir / f"{label}.err"
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True
            )
        self.t0 = time.monotonic()
        self.result: Result | None = None
        ctx.register(self)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, sig: int, group: bool = False) -> None:
        """Send ``sig`` to the process (or its whole process group while the leader lives)."""
        if not self.alive():
            return
        try:
            if group:
                os.killpg(self.pid, sig)
            else:
                os.kill(self.pid, sig)
        except ProcessLookupError:
            pass

    def kill9(self) -> Result:
        """kill -9 the whole process group and reap it."""
        self.send(signal.SIGKILL, group=True)
        return self.wait(30)

    def wait(self, timeout: float) -> Result:
        """Wait at most ``timeout`` s (then kill the group); watch RSS when asked; reap stragglers."""
        if self.result is not None:
            return self.result
        deadline = time.monotonic() + max(0.0, timeout)
        timed_out = False
        rss_hit: float | None = None
        while self.proc.poll() is None:
            if self.rss_limit_mb is not None:
                r = rss_mb(self.pid)
                if r > self.rss_limit_mb:
                    rss_hit = r
                    self.send(signal.SIGKILL, group=True)
            if time.monotonic() > deadline or self.ctx.aborting:
                timed_out = True
                self.send(signal.SIGKILL, group=True)
            if rss_hit is not None or timed_out:
                try:
                    self.proc.wait(30)
                except subprocess.TimeoutExpired:
                    pass
                break
            time.sleep(0.02)
        seconds = time.monotonic() - self.t0
        self.ctx.kill_group_members(self.pid)  # e.g. joblib workers left behind by a dead sweep
        self.result = Result(
            self.argv, self.proc.returncode, _read(self.out_path), _read(self.err_path), seconds, timed_out, rss_hit
        )
        self.ctx.unregister(self)
        return self.result


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode(errors="replace")
    except OSError:
        return ""


# --------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------

Entry = tuple[Any, ...]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def snapshot(*roots: Path, skip: Iterable[Path] = ()) -> dict[str, Entry]:
    """A full listing of the trees under ``roots``: path -> (kind, mode, size, mtime_ns, sha256 | link target).

    Directories are listed with mode and mtime (a file created and removed again shows up as a
    changed directory mtime). Symlinks are recorded, never followed.
    """
    skipped = {str(p) for p in skip}
    snap: dict[str, Entry] = {}
    for root in roots:
        if not os.path.lexists(root):
            snap[str(root)] = ("absent",)
            continue
        stack = [str(root)]
        while stack:
            path = stack.pop()
            if path in skipped:
                continue
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue
            if os.path.islink(path):
                snap[path] = ("link", os.readlink(path))
            elif os.path.isdir(path):
                snap[path] = ("dir", st.st_mode, st.st_mtime_ns)
                try:
                    stack.extend(os.path.join(path, name) for name in os.listdir(path))
                except OSError:
                    pass
            else:
                try:
                    digest = sha256(Path(path))
                except OSError as err:
                    digest = f"unreadable: {err}"
                snap[path] = ("file", st.st_mode, st.st_size, st.st_mtime_ns, digest)
    return snap


def snapshot_diff(before: dict[str, Entry], after: dict[str, Entry], limit: int = 3) -> list[str]:
    """Human-readable differences between two snapshots (at most ``limit``, plus a count)."""
    diffs: list[str] = []
    for path in sorted(set(before) | set(after)):
        a, b = before.get(path), after.get(path)
        if a == b:
            continue
        if a is None or (a[0] == "absent" and b is not None and b[0] != "absent"):
            diffs.append(f"created {path}")
        elif b is None or b[0] == "absent":
            diffs.append(f"deleted {path}")
        elif a[0] != b[0]:
            diffs.append(f"{path} changed from {a[0]} to {b[0]}")
        elif a[0] == "file":
            what = [n for n, i in (("mode", 1), ("size", 2), ("mtime", 3), ("content", 4)) if a[i] != b[i]]
            diffs.append(f"{path}: {'/'.join(what)} changed")
        elif a[0] == "dir":
            what = [n for n, i in (("mode", 1), ("mtime", 2)) if a[i] != b[i]]
            diffs.append(f"dir {path}: {'/'.join(what)} changed")
        else:
            diffs.append(f"{path} changed")
    diffs.sort(key=lambda d: d.startswith("dir "))  # stable: what was created/changed first, dir mtimes last
    if len(diffs) > limit:
        return diffs[:limit] + [f"... {len(diffs) - limit} more"]
    return diffs


def flip_bytes(path: Path, rng: random.Random, n: int = 100) -> None:
    """XOR ``n`` distinct random bytes in the middle half of ``path`` with a non-zero value."""
    data = bytearray(path.read_bytes())
    lo, hi = len(data) // 4, max(len(data) // 4 + 1, 3 * len(data) // 4)
    for offset in rng.sample(range(lo, hi), min(n, hi - lo)):
        data[offset] ^= rng.randint(1, 255)
    path.write_bytes(bytes(data))


def truncate(path: Path, keep: float = 0.5) -> None:
    """Cut ``path`` to ``keep`` of its size."""
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(int(size * keep))


def empty(path: Path) -> None:
    """Make ``path`` a 0-byte file."""
    path.write_bytes(b"")


def read_json(path: Path) -> dict[str, Any]:
    """metrics.json as a dict, or Fail with what is wrong."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise Fail(f"{path.name} missing") from None
    except (ValueError, OSError) as err:
        raise Fail(f"{path.name} unreadable: {short(str(err), 60)}") from None
    need(isinstance(data, dict), f"{path.name} is not an object")
    return data


def fill_disk(directory: Path, cap_mb: int = 256) -> Path:
    """Write a filler file into ``directory`` (a small tmpfs) until it is full; return its path.

    Refuses to write more than ``cap_mb`` MiB, so a mount that silently failed never fills the real disk.
    """
    if not os.path.ismount(directory):
        raise Skip(f"{directory} is not a mount point")
    filler = directory / "filler.bin"
    block = b"\0" * (1 << 20)
    written = 0
    with open(filler, "wb", buffering=0) as f:
        for size in (1 << 20, 1 << 12):
            chunk = block[:size]
            while True:
                try:
                    written += f.write(chunk)
                except OSError as err:
                    if err.errno != errno.ENOSPC:
                        raise
                    break
                if written > cap_mb << 20:
                    f.close()
                    filler.unlink()
                    raise Skip(f"{directory} did not fill up within {cap_mb} MiB")
    return filler


# --------------------------------------------------------------------------------------------
# the battery's context: references, processes, mounts
# --------------------------------------------------------------------------------------------


class Ctx:
    """Shared state: paths, environment, cached reference runs, live processes and mounts."""

    def __init__(self, repo: Path, root: Path, data_dir: Path, seed: int) -> None:
        self.repo = repo
        self.root = root
        self.data_dir = data_dir
        self.seed = seed
        self.tag = uuid.uuid4().hex
        self.aborting = False
        self._lock = threading.Lock()
        self._jobs: set[Job] = set()
        self._mounts: list[Path] = []
        self._refs: dict[str, Path | Fail] = {}
        self._ref_locks: dict[str, threading.Lock] = {}
        self._mount_ok: bool | str | None = None
        env = dict(os.environ)
        for var in ("HYDRA_FULL_ERROR", SECRET_VAR, "PYTHONSTARTUP"):
            env.pop(var, None)
        env.update(
            {
                "AELAB_DATA_DIR": str(data_dir),
                "AELAB_OFFLINE": "1",
                "OMP_NUM_THREADS": "1",
                "MKL_NUM_THREADS": "1",
                TAG_VAR: self.tag,
                "PYTHONPATH": os.pathsep.join(filter(None, [str(repo / "src"), env.get("PYTHONPATH")])),
            }
        )
        self.env = env

    # processes ---------------------------------------------------------------------------
    def register(self, job: Job) -> None:
        """Remember a live job (so Ctrl-C and case ends can kill it)."""
        with self._lock:
            self._jobs.add(job)

    def unregister(self, job: Job) -> None:
        with self._lock:
            self._jobs.discard(job)

    def ours(self) -> list[int]:
        """Every live process carrying this battery's tag."""
        me = os.getpid()
        return [pid for pid in proc_table() if pid != me and has_tag(pid, self.tag)]

    def kill_group_members(self, pgid: int) -> None:
        """SIGKILL our tagged processes still in process group ``pgid`` (by pid)."""
        for pid, (_, pgrp) in proc_table().items():
            if pgrp == pgid and has_tag(pid, self.tag):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def kill_all(self) -> int:
        """Kill every live job and every tagged straggler; return how many stragglers there were."""
        with self._lock:
            jobs = list(self._jobs)
        for job in jobs:
            job.send(signal.SIGKILL, group=True)
        for job in jobs:
            try:
                job.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        stragglers = self.ours()
        for pid in stragglers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return len(stragglers)

    # mounts ------------------------------------------------------------------------------
    def mount_tmpfs(self, where: Path, size: str) -> None:
        """Mount a tmpfs of ``size`` (e.g. "16m", "900k") at ``where``; Skip when not permitted."""
        where.mkdir(parents=True, exist_ok=True)
        res = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if res.returncode != 0:
            raise Skip(f"mount -t tmpfs failed: {short(res.stderr or res.stdout, 80)}")
        with self._lock:
            self._mounts.append(where)
        if not os.path.ismount(where):  # never fill up the real disk by mistake
            raise Skip(f"mount reported success but {where} is not a mount point")

    def remount(self, where: Path, size: str) -> None:
        """Resize the tmpfs at ``where`` (frees space for a resume)."""
        res = subprocess.run(
            ["mount", "-o", f"remount,size={size}", str(where)], capture_output=True, text=True, timeout=30
        )
        if res.returncode != 0:
            raise Skip(f"could not grow the tmpfs: {short(res.stderr, 80)}")

    def umount(self, where: Path) -> None:
        """Unmount ``where`` (lazily if busy); forget it."""
        for cmd in (["umount", str(where)], ["umount", "-l", str(where)]):
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            if res.returncode == 0:
                break
        with self._lock:
            if where in self._mounts:
                self._mounts.remove(where)

    def umount_all(self) -> None:
        """Unmount every tmpfs still mounted (the battery's exit path)."""
        with self._lock:
            mounts = list(self._mounts)
        for where in reversed(mounts):
            self.umount(where)

    # reference runs ----------------------------------------------------------------------
    def _memo(self, key: str, build: Callable[[], Path]) -> Path:
        """Build a reference once (thread-safe); a failure is remembered and re-raised as Fail."""
        with self._lock:
            lock = self._ref_locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._refs:
                try:
                    self._refs[key] = build()
                except Fail as err:
                    self._refs[key] = Fail(f"reference '{key}': {err}")
                except Skip:
                    raise
                except Exception as err:
                    self._refs[key] = Fail(
                        f"reference '{key}': battery error {type(err).__name__}: {short(str(err), 80)}"
                    )
            value = self._refs[key]
        if isinstance(value, Fail):
            raise Fail(str(value))
        return value

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
        env = dict(self.env)
        env.update(env_extra or {})
        argv = [sys.executable, str(self.repo / "scripts" / f"{script}.py"), *args]
        return Job(self, argv, cwd, env, io_dir, label, rss_limit_mb)

    def reference(self, cfg: RunCfg) -> Path:
        """A completed, uninterrupted run of ``cfg`` (trained once, then shared read-only)."""

        def build() -> Path:
            base = self.root / "refs"
            run_dir = base / cfg.name
            job = self.start("train", [*cfg.overrides, f"hydra.run.dir={run_dir}"], base, base / "io", cfg.name)
            res = job.wait(TRAIN_TIMEOUT)
            need(res.rc == 0, f"training failed ({res.describe()})")
            problem = completed_problem(run_dir, cfg.epochs)
            need(problem is None, f"not a completed run: {problem}")
            return run_dir

        return self._memo(cfg.name, build)

    def reference_test(self, cfg: RunCfg) -> dict[str, Any]:
        """The test metrics of the uninterrupted reference run of ``cfg`` (what resumes must equal)."""
        return read_json(self.reference(cfg) / "metrics.json")["test"]

    def interrupted(self) -> Path:
        """A LONG run killed with -9 early in epoch 2 (its first best.pt and last.pt written)."""

        def build() -> Path:
            base = self.root / "refs"
            run_dir = base / "long_interrupted"
            job = self.start(
                "train", [*LONG.overrides, f"hydra.run.dir={run_dir}"], base, base / "io", "long_interrupted"
            )
            ok = poll_until(
                job,
                lambda: (
                    (run_dir / "checkpoints" / "last.pt").exists() and (run_dir / "checkpoints" / "best.pt").exists()
                ),
                TRAIN_TIMEOUT,
                interval=0.003,
            )
            time.sleep(0.12)  # let epoch 1's bookkeeping finish: this reference is "killed in epoch 2"
            res = job.kill9()
            need(ok, f"no checkpoint before the run ended ({res.describe()})")
            metrics = run_dir / "metrics.json"
            if metrics.exists():
                try:
                    status = json.loads(metrics.read_text()).get("status")
                except ValueError:
                    status = None
                need(status != "completed", "the run completed before it could be killed")
            return run_dir

        return self._memo("long_interrupted", build)

    def sweep_reference(self) -> Path:
        """A completed 2-job sweep (``-m depth=1,2`` of TINY, basic launcher)."""

        def build() -> Path:
            base = self.root / "refs"
            sweep_dir = base / "sweep"
            job = self.start(
                "train",
                ["-m", *SWEEP_GRID, *TINY.without("depth"), f"hydra.sweep.dir={sweep_dir}"],
                base,
                base / "io",
                "sweep",
            )
            res = job.wait(SWEEP_TIMEOUT)
            need(res.rc == 0, f"sweep failed ({res.describe()})")
            for num in ("0", "1"):
                problem = completed_problem(sweep_dir / num, TINY.epochs)
                need(problem is None, f"job {num}: {problem}")
            return sweep_dir

        return self._memo("sweep", build)

    def can_mount(self) -> None:
        """Skip unless tmpfs mounts work here (probed once)."""
        with self._lock:
            probed = self._mount_ok
        if probed is None:
            where = self.root / "mount_probe"
            try:
                self.mount_tmpfs(where, "1m")
                self.umount(where)
                probed = True
            except Skip as err:
                probed = str(err)
            with self._lock:
                self._mount_ok = probed
        if probed is not True:
            raise Skip(str(probed))


SWEEP_GRID: tuple[str, ...] = ("depth=1,2",)


def poll_until(job: Job | None, predicate: Callable[[], bool], timeout: float, interval: float = 0.01) -> bool:
    """Poll ``predicate`` until true (True), the job ends or ``timeout`` passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except OSError:
            pass
        if job is not None and not job.alive():
            try:
                return predicate()
            except OSError:
                return False
        if job is not None and job.ctx.aborting:
            return False
        time.sleep(interval)
    return False


def file_state(path: Path) -> tuple[int, int, int] | None:
    """(inode, size, mtime_ns) of ``path`` or None: changes on every (atomic) rewrite."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def wait_writes(job: Job, path: Path, count: int, timeout: float = TRAIN_TIMEOUT) -> bool:
    """Poll ``path`` every 3 ms until it has been (re)written ``count`` times since now."""
    seen = [file_state(path)]
    changes = [0]

    def changed() -> bool:
        state = file_state(path)
        if state is not None and state != seen[0]:
            seen[0] = state
            changes[0] += 1
        return changes[0] >= count

    return poll_until(job, changed, timeout, interval=0.003)


# --------------------------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------------------------


def completed_problem(run_dir: Path, epochs: int, ref_test: dict[str, Any] | None = None) -> str | None:
    """What is wrong with ``run_dir`` as a completed run of ``epochs`` epochs (None: nothing)."""
    try:
        m = read_json(run_dir / "metrics.json")
    except Fail as err:
        return str(err)
    if m.get("status") != "completed":
        return f"status {m.get('status')!r}, not 'completed'"
    if m.get("epochs_completed") != epochs:
        return f"epochs_completed {m.get('epochs_completed')!r} != {epochs}"
    history = m.get("history")
    if not isinstance(history, list):
        return "no history list"
    got = [rec.get("epoch") if isinstance(rec, dict) else None for rec in history]
    if got != list(range(1, epochs + 1)):
        return f"history epochs {got} != 1..{epochs}"
    if ref_test is not None and m.get("test") != ref_test:
        a = (m.get("test") or {}).get("sq_err_per_image")
        b = ref_test.get("sq_err_per_image")
        return f"test metrics differ from the uninterrupted run (sq_err_per_image {a!r} vs {b!r})"
    return None


def refusal_problem(res: Result, names: Sequence[str | tuple[str, ...]] = ()) -> str | None:
    """None if ``res`` is a proper refusal: rc != 0, exactly one stderr line ``Error: ...``, naming
    every item of ``names`` (a tuple: any of its alternatives; case-insensitive), no traceback."""
    if res.timed_out:
        return f"did not end within {res.seconds:.0f} s"
    if res.rss_exceeded_mb is not None:
        return f"RSS reached {res.rss_exceeded_mb:.0f} MiB (killed)"
    if res.rc == 0:
        return "exit 0 (not refused)" + (f"; stderr: {short(res.err_lines[-1], 80)}" if res.err_lines else "")
    for bad in FORBIDDEN_IN_REFUSAL:
        if bad in res.output:
            return f"output contains {bad!r} (rc={res.rc})"
    lines = res.err_lines
    if len(lines) != 1:
        return f"{len(lines)} stderr lines, not 1 (rc={res.rc}; last: {short(lines[-1], 70) if lines else '-'})"
    line = lines[0]
    if not line.startswith("Error: "):
        return f"stderr line does not start with 'Error: ': {short(line, 90)}"
    for name in names:
        alternatives = name if isinstance(name, tuple) else (name,)
        if not any(a.lower() in line.lower() for a in alternatives):
            return f"message does not name {' / '.join(alternatives)!r}: {short(line, 90)}"
    return None


def expect_refused(
    res: Result, before: dict[str, Entry], after: dict[str, Entry], names: Sequence[str | tuple[str, ...]] = ()
) -> str:
    """Fail unless ``res`` is a one-line refusal that changed nothing; return the held reason."""
    problem = refusal_problem(res, names)
    diffs = snapshot_diff(before, after)
    if problem and diffs:
        raise Fail(f"{problem}; and {diffs[0]}")
    need(problem is None, problem or "")
    need(not diffs, f"refused but changed files: {'; '.join(diffs)}")
    return f"refused in {res.seconds:.1f} s: {short(res.err_lines[0], 90)}"


def mode_problem(run_dir: Path) -> str | None:
    """None if metrics.json, checkpoints/*, train.log and .hydra/* share one permission mode."""
    files = [run_dir / "metrics.json", run_dir / "train.log"]
    files += sorted((run_dir / "checkpoints").glob("*.pt")) + sorted((run_dir / ".hydra").glob("*"))
    modes: dict[str, list[str]] = {}
    for f in files:
        if f.is_file() and not f.is_symlink():
            modes.setdefault(oct(f.stat().st_mode & 0o7777), []).append(str(f.relative_to(run_dir)))
    if not modes:
        return "no run files found"
    if len(modes) > 1:
        return "modes differ: " + ", ".join(
            f"{m} ({', '.join(v[:2])}{'...' if len(v) > 2 else ''})" for m, v in sorted(modes.items())
        )
    return None


# --------------------------------------------------------------------------------------------
# a case's view
# --------------------------------------------------------------------------------------------


class Case:
    """One case's sandbox: ``work`` (its cwd and every file it touches) and ``io`` (captured output)."""

    def __init__(self, ctx: Ctx, spec: CaseSpec, base: Path) -> None:
        self.ctx = ctx
        self.spec = spec
        self.work = base / "work"
        self.io = base / "io"
        self.work.mkdir(parents=True)
        self.io.mkdir(parents=True)
        self.rng = random.Random(f"{ctx.seed}:{spec.category}/{spec.name}")
        self._n = 0

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
    ) -> Job:
        """Start ``scripts/<script>.py args`` in the background, in ``work``."""
        return self.ctx.start(script, args, self.work, self.io, self._label(script), env_extra, rss_limit_mb)

    def cli(
        self,
        script: str,
        args: Sequence[str],
        timeout: float = TRAIN_TIMEOUT,
        env_extra: dict[str, str] | None = None,
        rss_limit_mb: float | None = None,
    ) -> Result:
        """Run ``scripts/<script>.py args`` to the end (killed after ``timeout`` s)."""
        return self.start(script, args, env_extra, rss_limit_mb).wait(timeout)

    def train(self, cfg: RunCfg | Sequence[str], run_dir: Path, *extra: str, timeout: float = TRAIN_TIMEOUT) -> Result:
        """A fresh run (no resume=) of ``cfg`` plus ``extra`` overrides into ``run_dir``."""
        overrides = cfg.overrides if isinstance(cfg, RunCfg) else tuple(cfg)
        return self.cli("train", [*overrides, *extra, f"hydra.run.dir={run_dir}"], timeout)

    def start_train(self, cfg: RunCfg, run_dir: Path, *extra: str) -> Job:
        """``train`` in the background."""
        return self.start("train", [*cfg.overrides, *extra, f"hydra.run.dir={run_dir}"])

    def resume(
        self, run_dir: Path, *extra: str, timeout: float = TRAIN_TIMEOUT, env_extra: dict[str, str] | None = None
    ) -> Result:
        """``train.py resume=<run_dir> [extra]`` as a user types it (no hydra.run.dir)."""
        return self.cli("train", [f"resume={run_dir}", *extra], timeout, env_extra)

    def evaluate(self, run_dir: Path, *extra: str, env_extra: dict[str, str] | None = None) -> Result:
        """``evaluate.py <run_dir> [extra]``."""
        return self.cli("evaluate", [str(run_dir), *extra], QUICK_TIMEOUT + 30, env_extra)

    def copy_run(self, src: Path, name: str = "run") -> Path:
        """A private copy of a reference run (or sweep) dir, symlinks kept as symlinks."""
        dst = self.work / name
        shutil.copytree(src, dst, symlinks=True)
        return dst

    def kill_jobs(self) -> None:
        """kill -9 every process this case started that is still running."""
        with self.ctx._lock:
            jobs = [j for j in self.ctx._jobs if j.out_path.parent == self.io]
        for job in jobs:
            job.kill9()

    def snap(self) -> dict[str, Entry]:
        """Snapshot of everything the case may touch (its cwd included: a stray ./outputs shows)."""
        return snapshot(self.work)

    def resume_to_completion(self, run_dir: Path, cfg: RunCfg, what: str = "resume") -> Result:
        """``resume=`` must exit 0 and leave a completed run identical to the reference."""
        ref_test = self.ctx.reference_test(cfg)
        res = self.resume(run_dir)
        need(res.rc == 0, f"{what}: {res.describe()}")
        problem = completed_problem(run_dir, cfg.epochs, ref_test)
        need(problem is None, f"after {what}: {problem}")
        return res


# --------------------------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------------------------


@dataclass
class CaseSpec:
    category: str
    name: str
    func: Callable[[Case], str]
    quick: bool = False
    slots: int = 1
    doc: str = ""
    extended: bool = False  # only with --extended (variants of default cases)


CASES: list[CaseSpec] = []


def register(
    category: str, name: str, func: Callable[[Case], str], quick: bool = False, slots: int = 1, extended: bool = False
) -> None:
    """Add a case: ``quick`` ones form --quick, ``extended`` ones run only with --extended."""
    assert category in CATEGORIES, category
    assert not (quick and extended), name
    CASES.append(CaseSpec(category, name, func, quick, slots, (func.__doc__ or "").strip(), extended))


def case(
    category: str, quick: bool = False, slots: int = 1, extended: bool = False
) -> Callable[[Callable[[Case], str]], Callable[[Case], str]]:
    """Decorator: register ``func`` as case ``category/<func name>``."""

    def deco(func: Callable[[Case], str]) -> Callable[[Case], str]:
        register(category, func.__name__, func, quick, slots, extended)
        return func

    return deco


# ============================================================================================
# crash: kill -9 and the checkpoint as the source of truth
# ============================================================================================


def _kill9_random(seed: int) -> Callable[[Case], str]:
    def run(c: Case) -> str:
        delay = random.Random(f"kill9:{c.ctx.seed}:{seed}").uniform(0.0, 2.2)
        run_dir = c.work / "run"
        job = c.start_train(LONG, run_dir)
        need_job(wait_writes(job, run_dir / "checkpoints" / "last.pt", 1), job, "no checkpoint appeared")
        time.sleep(delay)
        finished = not job.alive()
        job.kill9()
        c.resume_to_completion(run_dir, LONG)
        state = "after the run had ended" if finished else "mid-run"
        return f"killed {delay:.2f} s after the first checkpoint ({state}); resume completed identically"

    run.__doc__ = (
        f"kill -9 a LONG run a seeded random time (seed {seed}, 0-2.2 s) after its first checkpoint; "
        "resume= completes with history 1..N and bit-identical test metrics."
    )
    return run


for _seed in range(5):
    register("crash", f"kill9_random_{_seed}", _kill9_random(_seed), quick=_seed == 0, extended=_seed >= 3)


@case("crash")
def kill9_before_first_checkpoint(c: Case) -> str:
    """kill -9 while the run loads data (run dir exists, no checkpoint yet). The dir must not be
    stuck: resume= completes to the uninterrupted result, or, if resume= refuses (one line: there
    is nothing to resume), a fresh run of the same config in that dir does."""
    run_dir = c.work / "run"
    job = c.start_train(LONG, run_dir)
    need_job(
        poll_until(job, lambda: (run_dir / ".hydra").exists() or (run_dir / "train.log").exists(), TRAIN_TIMEOUT),
        job,
        "run dir never appeared",
    )
    time.sleep(0.8)
    had_ckpt = (run_dir / "checkpoints" / "last.pt").exists()
    job.kill9()
    note = " (a checkpoint existed)" if had_ckpt else ""
    ref_test = c.ctx.reference_test(LONG)
    res = c.resume(run_dir)
    if res.rc == 0:
        problem = completed_problem(run_dir, LONG.epochs, ref_test)
        need(problem is None, f"after resume: {problem}")
        return "resume after an early kill completed identically" + note
    refused = refusal_problem(res)
    need(refused is None, f"resume neither completed nor refused cleanly: {refused}")
    fresh = c.train(LONG, run_dir)
    need(
        fresh.rc == 0,
        f"resume refused ({short(res.err_lines[0], 70)}) and a fresh run in the dir too: {fresh.describe()}",
    )
    problem = completed_problem(run_dir, LONG.epochs, ref_test)
    need(problem is None, f"fresh run after the refused resume: {problem}")
    return "resume refused (nothing to resume) and a fresh run in the same dir completed identically" + note


def _kill9_after_write(k: int) -> Callable[[Case], str]:
    def run(c: Case) -> str:
        run_dir = c.work / "run"
        job = c.start_train(LONG, run_dir)
        ok = wait_writes(job, run_dir / "checkpoints" / "last.pt", k)
        alive = job.alive()
        job.kill9()
        need(ok, f"only saw fewer than {k} writes of last.pt before the run ended")
        c.resume_to_completion(run_dir, LONG)
        return (
            f"killed right after write #{k} of last.pt{'' if alive else ' (run had already ended)'}; resume identical"
        )

    run.__doc__ = (
        f"poll checkpoints/last.pt every 3 ms and kill -9 right after its write #{k}; resume= completes "
        "with history 1..N and bit-identical test metrics."
    )
    return run


register("crash", "kill9_right_after_checkpoint_1", _kill9_after_write(1))
register("crash", "kill9_right_after_checkpoint_3", _kill9_after_write(3), extended=True)
register("crash", "kill9_right_after_last_checkpoint", _kill9_after_write(LONG.epochs))


@case("crash")
def kill9_twice(c: Case) -> str:
    """kill -9 after checkpoint 2, resume, kill -9 the resume right after its next checkpoint
    write, resume again: one record per epoch, bit-identical test metrics."""
    run_dir = c.work / "run"
    last = run_dir / "checkpoints" / "last.pt"
    job = c.start_train(LONG, run_dir)
    need(wait_writes(job, last, 2), "no second checkpoint")
    job.kill9()
    job2 = c.start("train", [f"resume={run_dir}"])
    ok = wait_writes(job2, last, 1)
    alive = job2.alive()
    res2 = job2.kill9()
    need(ok, f"first resume never wrote a checkpoint ({res2.describe()})")
    c.resume_to_completion(run_dir, LONG, "second resume")
    return "two kills, two resumes, identical result" + ("" if alive else " (first resume had ended)")


@case("crash")
def deleted_metrics_rebuilt(c: Case) -> str:
    """kill -9 after checkpoint 3, delete metrics.json, resume=: metrics.json is rebuilt with the
    full history 1..N and bit-identical test metrics."""
    run_dir = c.work / "run"
    job = c.start_train(LONG, run_dir)
    ok = wait_writes(job, run_dir / "checkpoints" / "last.pt", 3)
    job.kill9()
    need(ok, "no third checkpoint")
    (run_dir / "metrics.json").unlink(missing_ok=True)
    c.resume_to_completion(run_dir, LONG)
    return "metrics.json rebuilt with the whole history"


@case("crash", quick=True)
def resume_completed_is_noop(c: Case) -> str:
    """resume= on a completed run exits 0, says it is complete, and changes no file (nor ./outputs)."""
    run_dir = c.copy_run(c.ctx.reference(TINY))
    before = c.snap()
    res = c.resume(run_dir, timeout=QUICK_TIMEOUT)
    diffs = snapshot_diff(before, c.snap())
    need(res.rc == 0, f"resume of a completed run: {res.describe()}")
    need("complete" in res.output.lower(), "exit 0 but no message saying the run is complete")
    need(not diffs, "files changed: " + "; ".join(diffs))
    return f"exit 0 in {res.seconds:.1f} s, nothing changed"


@case("crash")
def resume_completed_corrupt_best_is_noop(c: Case) -> str:
    """resume= on a completed run whose best.pt is corrupt still exits 0 and changes no file."""
    run_dir = c.copy_run(c.ctx.reference(TINY))
    flip_bytes(run_dir / "checkpoints" / "best.pt", c.rng)
    before = c.snap()
    res = c.resume(run_dir, timeout=QUICK_TIMEOUT)
    diffs = snapshot_diff(before, c.snap())
    need(res.rc == 0, f"resume: {res.describe()}")
    need("complete" in res.output.lower(), "exit 0 but no message saying the run is complete")
    need(not diffs, "files changed: " + "; ".join(diffs))
    return "exit 0, nothing changed"


@case("crash")
def failed_attempts_keep_completed(c: Case) -> str:
    """Failed attempts on a completed run (a fresh run in its dir, resume= with a changed
    model.width, skip_done=true with another depth, resume= with last.pt emptied) never turn its
    metrics.json into failed: the file stays byte-identical with status completed."""
    run_dir = c.copy_run(c.ctx.reference(TINY))
    metrics = run_dir / "metrics.json"
    original = metrics.read_bytes()
    attempts: list[tuple[str, Callable[[], Result]]] = [
        ("fresh run in its dir", lambda: c.train(TINY, run_dir, timeout=QUICK_TIMEOUT + 30)),
        ("resume with model.width=32", lambda: c.resume(run_dir, "model.width=32", timeout=QUICK_TIMEOUT + 30)),
        (
            "skip_done with depth=3",
            lambda: c.train(TINY.without("depth"), run_dir, "depth=3", "skip_done=true", timeout=QUICK_TIMEOUT + 30),
        ),
    ]
    for what, attempt in attempts:
        attempt()
        status = read_json(metrics).get("status")
        need(status == "completed", f"after {what}: status {status!r}")
        need(metrics.read_bytes() == original, f"after {what}: metrics.json rewritten")
    empty(run_dir / "checkpoints" / "last.pt")
    c.resume(run_dir, timeout=QUICK_TIMEOUT)
    need(metrics.read_bytes() == original, "after resume with an empty last.pt: metrics.json rewritten")
    return "metrics.json byte-identical after 4 failed attempts"


# ============================================================================================
# signals
# ============================================================================================


def _signal_during_training(sig: int, group: bool) -> Callable[[Case], str]:
    name = signal.Signals(sig).name

    def run(c: Case) -> str:
        run_dir = c.work / "run"
        job = c.start_train(LONG, run_dir)
        need_job(wait_writes(job, run_dir / "checkpoints" / "last.pt", 1), job, "no checkpoint appeared")
        time.sleep(c.rng.uniform(0.05, 0.6))
        need(job.alive(), "the run ended before the signal could be sent")
        job.send(sig, group=group)
        res = job.wait(60)
        need(not res.timed_out, f"did not exit within 60 s of {name}")
        need(res.rc != 0, f"exit 0 after {name}")
        status = read_json(run_dir / "metrics.json").get("status")
        need(status == "interrupted", f"status {status!r} after {name}, not 'interrupted'")
        c.resume_to_completion(run_dir, LONG)
        return f"{name} -> rc {res.rc}, interrupted; resume identical"

    run.__doc__ = (
        f"{name} to the {'process group' if group else 'process'} mid-training: exit non-zero, status "
        "interrupted, resume= completes bit-identically to an uninterrupted run."
    )
    return run


register("signals", "sigint_during_training", _signal_during_training(signal.SIGINT, False), quick=True)
register("signals", "sigterm_during_training", _signal_during_training(signal.SIGTERM, False))
register("signals", "sigint_to_group_during_training", _signal_during_training(signal.SIGINT, True), extended=True)


@case("signals")
def sigint_then_sigterm_on_resume(c: Case) -> str:
    """SIGINT after checkpoint 2, resume=, SIGTERM that resume after its next checkpoint, resume=
    again: both interrupted attempts exit non-zero and the end result is bit-identical."""
    run_dir = c.work / "run"
    last = run_dir / "checkpoints" / "last.pt"
    job = c.start_train(LONG, run_dir)
    need(wait_writes(job, last, 2), "no second checkpoint")
    job.send(signal.SIGINT)
    res = job.wait(60)
    need(res.rc not in (0, None), f"SIGINT: {res.describe()}")
    job2 = c.start("train", [f"resume={run_dir}"])
    ok = wait_writes(job2, last, 1)
    job2.send(signal.SIGTERM)
    res2 = job2.wait(60)
    need(ok, f"the resume wrote no checkpoint ({res2.describe()})")
    need(res2.rc not in (0, None), f"SIGTERM on resume: {res2.describe()}")
    status = read_json(run_dir / "metrics.json").get("status")
    need(status == "interrupted", f"status {status!r} after SIGTERM on resume")
    c.resume_to_completion(run_dir, LONG, "final resume")
    return "interrupted twice, final result identical"


def _sigint_at_startup(delay: float | None, sig: int = signal.SIGINT) -> Callable[[Case], str]:
    name = signal.Signals(sig).name

    def run(c: Case) -> str:
        d = delay if delay is not None else c.rng.uniform(0.2, 3.0)
        job = c.start_train(TINY, c.work / "run")
        time.sleep(d)
        ran = job.alive()
        job.send(sig)
        res = job.wait(60)
        need(ran, "the process had already ended")
        need(not res.timed_out, f"did not exit within 60 s of {name}")
        need(
            "Traceback" not in res.stderr,
            f"{name} at {d:.2f} s printed a traceback (last line: "
            f"{short(res.err_lines[-1] if res.err_lines else '', 70)})",
        )
        return f"{name} at {d:.2f} s: rc {res.rc}, no traceback"

    when = f"{delay:.1f} s" if delay is not None else "a seeded 0.2-3 s"
    run.__doc__ = f"{name} {when} after launch (start-up): no Python traceback on stderr."
    return run


register("signals", "sigint_at_startup_0.5s", _sigint_at_startup(0.5), quick=True)
register("signals", "sigint_at_startup_1.5s", _sigint_at_startup(1.5), extended=True)
register("signals", "sigint_at_startup_random", _sigint_at_startup(None))
register("signals", "sigterm_at_startup_1s", _sigint_at_startup(1.0, signal.SIGTERM))


@case("signals")
def sigint_while_loading_data(c: Case) -> str:
    """SIGINT after the run dir appeared but before the first checkpoint (data loading): exit
    non-zero without a traceback, and resume= then completes bit-identically."""
    run_dir = c.work / "run"
    job = c.start_train(LONG, run_dir)
    need(
        poll_until(job, lambda: (run_dir / ".hydra").exists() or (run_dir / "train.log").exists(), TRAIN_TIMEOUT),
        "run dir never appeared",
    )
    time.sleep(0.5)
    job.send(signal.SIGINT)
    res = job.wait(60)
    need(res.rc not in (0, None), f"after SIGINT: {res.describe()}")
    need("Traceback" not in res.stderr, "traceback on stderr")
    c.resume_to_completion(run_dir, LONG)
    return f"rc {res.rc}, no traceback; resume identical"


# ============================================================================================
# corruption: damaged checkpoints, garbage metrics.json
# ============================================================================================

DAMAGE: dict[str, Callable[[Path, random.Random], None]] = {
    "flip": lambda p, rng: flip_bytes(p, rng, 100),
    "truncate": lambda p, rng: truncate(p, 0.5),
    "empty": lambda p, rng: empty(p),
}


def _damaged_evaluate(which: str, how: str) -> Callable[[Case], str]:
    def run(c: Case) -> str:
        run_dir = c.copy_run(c.ctx.reference(TINY))
        DAMAGE[how](run_dir / "checkpoints" / f"{which}.pt", c.rng)
        before = c.snap()
        res = c.evaluate(run_dir, *(["--which", "last"] if which == "last" else []))
        return expect_refused(res, before, c.snap(), [f"{which}.pt"])

    run.__doc__ = (
        f"{how} checkpoints/{which}.pt of a completed run: evaluate.py exits non-zero with one line "
        f"naming {which}.pt and writes nothing (never a number with exit 0)."
    )
    return run


def _damaged_resume(which: str, how: str) -> Callable[[Case], str]:
    def run(c: Case) -> str:
        run_dir = c.copy_run(c.ctx.interrupted())
        DAMAGE[how](run_dir / "checkpoints" / f"{which}.pt", c.rng)
        before = c.snap()
        res = c.resume(run_dir, timeout=QUICK_TIMEOUT + 30)
        return expect_refused(res, before, c.snap(), [f"{which}.pt"])

    run.__doc__ = (
        f"{how} checkpoints/{which}.pt of an interrupted run: resume= exits non-zero with one line "
        f"naming {which}.pt and changes nothing."
    )
    return run


register("corruption", "best_flip_evaluate", _damaged_evaluate("best", "flip"), quick=True)
register("corruption", "best_truncate_evaluate", _damaged_evaluate("best", "truncate"), extended=True)
register("corruption", "best_empty_evaluate", _damaged_evaluate("best", "empty"))
register("corruption", "last_flip_evaluate", _damaged_evaluate("last", "flip"))
register("corruption", "last_flip_resume", _damaged_resume("last", "flip"))
register("corruption", "last_truncate_resume", _damaged_resume("last", "truncate"), quick=True)
register("corruption", "last_empty_resume", _damaged_resume("last", "empty"), extended=True)
register("corruption", "best_flip_resume", _damaged_resume("best", "flip"))


def _garbage_metrics(interrupted: bool) -> Callable[[Case], str]:
    def run(c: Case) -> str:
        cfg = LONG if interrupted else TINY
        run_dir = c.copy_run(c.ctx.interrupted() if interrupted else c.ctx.reference(cfg))
        (run_dir / "metrics.json").write_text("{not json")
        res = c.resume(run_dir)
        need(not res.timed_out, "resume timed out")
        need("Traceback" not in res.output, "traceback in the output")
        if res.rc == 0:
            problem = completed_problem(run_dir, cfg.epochs, c.ctx.reference_test(cfg))
            need(problem is None, f"exit 0 but not a correct rebuild: {problem}")
            return "rebuilt correctly"
        problem = refusal_problem(res)
        need(problem is None, f"refused badly: {problem}")
        return f"refused: {short(res.err_lines[0], 90)}"

    run.__doc__ = (
        f"metrics.json of a{'n interrupted' if interrupted else ' completed'} run replaced by '{{not json' "
        "then resume=: either one line and non-zero, or a correct rebuild; never a traceback."
    )
    return run


register("corruption", "garbage_metrics_resume_interrupted", _garbage_metrics(True))
register("corruption", "garbage_metrics_resume_completed", _garbage_metrics(False))


# ============================================================================================
# data: a damaged copy of MNIST
# ============================================================================================


def mnist_copy(c: Case) -> Path:
    """Copy MNIST/raw into the case (writable); return the data.root to pass."""
    raw = c.work / "x" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    src = c.ctx.data_dir / "MNIST" / "raw"
    for name in MNIST_FILES:
        if not (src / name).exists():
            raise Skip(f"{src / name} not found")
        shutil.copyfile(src / name, raw / name)
        os.chmod(raw / name, 0o644)
    return c.work / "x"


def set_magic(path: Path) -> None:
    with open(path, "r+b") as f:
        f.write(b"\x00\x00\xde\xad")


WHAT_WRONG: dict[str, tuple[str, ...]] = {
    "bytes": (
        "checksum",
        "hash",
        "sha",
        "md5",
        "corrupt",
        "mismatch",
        "does not match",
        "modified",
        "damaged",
        "integrity",
    ),
    "truncated": ("truncat", "size", "short", "bytes", "expected", "incomplete", "corrupt", "length", "empty"),
    "magic": ("magic",),
    "missing": ("missing", "not found", "no such", "does not exist"),
}
DOWNLOAD_CLAIM = re.compile(r"download(ing)?\s+failed|failed\s+to\s+download|could\s+not\s+download", re.I)


def _bad_mnist(file: str, how: str, kind: str) -> Callable[[Case], str]:
    def run(c: Case) -> str:
        root = mnist_copy(c)
        path = root / "MNIST" / "raw" / file
        if how == "flip":
            flip_bytes(path, c.rng, 100)
        elif how == "truncate":
            truncate(path, 0.6)
        elif how == "empty":
            empty(path)
        elif how == "magic":
            set_magic(path)
        elif how == "delete":
            path.unlink()
        before = c.snap()
        res = c.train(TINY, c.work / "run", f"data.root={root}", timeout=QUICK_TIMEOUT + 60)
        need(not DOWNLOAD_CLAIM.search(res.output), "says the download failed although nothing was downloaded")
        return expect_refused(res, before, c.snap(), [file, WHAT_WRONG[kind]])

    run.__doc__ = (
        f"MNIST copy with {file} {how}: training refuses with one line naming {file} and what is wrong "
        "(never 'download failed'), and creates no run dir."
    )
    return run


register("data", "train_images_random_bytes", _bad_mnist("train-images-idx3-ubyte", "flip", "bytes"), quick=True)
register("data", "train_images_truncated", _bad_mnist("train-images-idx3-ubyte", "truncate", "truncated"))
register("data", "train_labels_bad_magic", _bad_mnist("train-labels-idx1-ubyte", "magic", "magic"))
register("data", "test_images_bad_magic", _bad_mnist("t10k-images-idx3-ubyte", "magic", "magic"))
register("data", "test_labels_truncated", _bad_mnist("t10k-labels-idx1-ubyte", "truncate", "truncated"), extended=True)
register("data", "train_labels_empty", _bad_mnist("train-labels-idx1-ubyte", "empty", "truncated"))
register("data", "test_images_missing", _bad_mnist("t10k-images-idx3-ubyte", "delete", "missing"))


# ============================================================================================
# security
# ============================================================================================


class _Payload:
    """Unpickling this runs a shell command (the malicious checkpoint)."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (self.command,))


_TORCH_LOCK = threading.Lock()


def _torch() -> Any:
    """torch, imported on first use (only the security cases need it)."""
    with _TORCH_LOCK:
        import torch

        return torch


WEIGHTS_ONLY_ADVICE = re.compile(r"weights_only\s*=\s*False", re.I)


def _malicious(which: str, fmt: str) -> Callable[[Case], str]:
    def run(c: Case) -> str:
        run_dir = c.copy_run(c.ctx.interrupted() if which == "last" else c.ctx.reference(TINY))
        marker = c.io / "PWNED"
        path = run_dir / "checkpoints" / f"{which}.pt"
        if fmt == "zip":
            torch = _torch()
            try:
                ck = torch.load(path, map_location="cpu", weights_only=True)
            except Exception:
                ck = {}
            if not isinstance(ck, dict):
                ck = {"state": ck}
            ck["extra"] = _Payload(f"touch {marker}")
            torch.save(ck, path)
        else:
            path.write_bytes(pickle.dumps(_Payload(f"touch {marker}"), protocol=2))
        before = c.snap()
        if which == "last":
            res = c.resume(run_dir, timeout=QUICK_TIMEOUT + 30)
        else:
            res = c.evaluate(run_dir)
        need(not marker.exists(), "THE PAYLOAD RAN (os.system executed while loading the checkpoint)")
        need(not WEIGHTS_ONLY_ADVICE.search(res.output), "output advises weights_only=False")
        return expect_refused(res, before, c.snap())

    tool = "resume=" if which == "last" else "evaluate.py"
    run.__doc__ = (
        f"{which}.pt replaced by a {'torch zip' if fmt == 'zip' else 'plain pickle'} checkpoint whose "
        f"pickle calls os.system: {tool} refuses with one line, never advises weights_only=False, and "
        "the payload never runs."
    )
    return run


register("security", "malicious_pickle_last_resume", _malicious("last", "zip"), quick=True)
register("security", "malicious_pickle_best_evaluate", _malicious("best", "zip"))
register("security", "malicious_plain_pickle_best_evaluate", _malicious("best", "plain"))


def _symlinked_log(kind: str) -> Callable[[Case], str]:
    def run(c: Case) -> str:
        outside = c.work / "outside" / "precious.txt"
        outside.parent.mkdir()
        outside.write_text("do not write here\n")
        before = snapshot(outside)
        if kind == "fresh":
            run_dir = c.work / "run"
            run_dir.mkdir()
            os.symlink(outside, run_dir / "train.log")
            res = c.train(TINY, run_dir, timeout=QUICK_TIMEOUT + 60)
        else:
            src = c.ctx.interrupted() if kind == "interrupted" else c.ctx.reference(TINY)
            run_dir = c.copy_run(src)
            (run_dir / "train.log").unlink(missing_ok=True)
            os.symlink(outside, run_dir / "train.log")
            res = c.resume(run_dir)
        diffs = snapshot_diff(before, snapshot(outside))
        need(not diffs, f"the file outside the run dir was written through the symlink ({res.describe()})")
        need(not res.timed_out, "timed out")
        return f"outside file untouched (rc {res.rc})"

    what = {
        "fresh": "an empty dir holding only",
        "interrupted": "an interrupted run with",
        "completed": "a completed run with",
    }[kind]
    run.__doc__ = (
        f"{what} a train.log that is a symlink to a file outside the run dir: "
        f"{'a fresh run' if kind == 'fresh' else 'resume='} never writes to that file."
    )
    return run


register("security", "symlinked_train_log_resume", _symlinked_log("interrupted"), quick=True)
register("security", "symlinked_train_log_fresh_run", _symlinked_log("fresh"))
register("security", "symlinked_train_log_completed_resume", _symlinked_log("completed"), extended=True)


def plant(obj: Any, value: str) -> bool:
    """Set data.root = ``value`` in every stored config found in ``obj`` (dicts or YAML strings)."""
    done = False
    if isinstance(obj, dict):
        data = obj.get("data")
        if isinstance(data, dict) and "root" in data:
            data["root"] = value
            done = True
        for key, sub in list(obj.items()):
            if isinstance(sub, str) and re.search(r"^\s*root:", sub, re.M):
                obj[key] = re.sub(r"^(\s*root:\s*).*$", lambda m: m.group(1) + f"'{value}'", sub, flags=re.M)
                done = True
            elif isinstance(sub, (dict, list)):
                done = plant(sub, value) or done
    elif isinstance(obj, list):
        for sub in obj:
            done = plant(sub, value) or done
    return done


def _secret(tool: str) -> Callable[[Case], str]:
    def run(c: Case) -> str:
        torch = _torch()
        run_dir = c.copy_run(c.ctx.interrupted() if tool == "resume" else c.ctx.reference(TINY))
        secret = f"fbsecret{c.rng.getrandbits(64):016x}"
        planted = 0
        for path in sorted((run_dir / "checkpoints").glob("*.pt")):
            try:
                ck = torch.load(path, map_location="cpu", weights_only=True)
            except Exception as err:
                raise Skip(
                    f"{path.name} not loadable with torch.load(weights_only=True): {short(str(err), 60)}"
                ) from None
            if plant(ck, "${oc.env:" + SECRET_VAR + "}"):
                torch.save(ck, path)
                planted += 1
        need(planted > 0, "found no stored config (data.root) in the checkpoints to plant into")
        env = {SECRET_VAR: secret}
        res = c.resume(run_dir, env_extra=env) if tool == "resume" else c.evaluate(run_dir, env_extra=env)
        need(not res.timed_out, "timed out")
        leaks = [p for p, e in snapshot(c.work).items() if e[0] == "file" and secret.encode() in Path(p).read_bytes()]
        need(not leaks, f"the secret was resolved and written to {leaks[0]}" if leaks else "")
        need(secret not in res.output, "the secret was resolved and printed")
        return f"${{oc.env:...}} never resolved (rc {res.rc})"

    run.__doc__ = (
        f"plant data.root='${{oc.env:{SECRET_VAR}}}' in the checkpoints' stored config and run "
        f"{'resume=' if tool == 'resume' else 'evaluate.py'} with that variable set: its value appears "
        "in no file written and in no output."
    )
    return run


register("security", "secret_in_checkpoint_resume", _secret("resume"))
register("security", "secret_in_checkpoint_evaluate", _secret("evaluate"))


@case("security", quick=True)
def permission_modes_run(c: Case) -> str:
    """metrics.json, checkpoints/*, train.log and .hydra/* of a completed run share one mode."""
    problem = mode_problem(c.ctx.reference(TINY))
    need(problem is None, problem or "")
    return "one mode for all run files"


@case("security")
def permission_modes_after_resume(c: Case) -> str:
    """After a kill -9 and resume=, the run files still share one permission mode."""
    run_dir = c.copy_run(c.ctx.interrupted())
    res = c.resume(run_dir)
    need(res.rc == 0, f"resume: {res.describe()}")
    problem = mode_problem(run_dir)
    need(problem is None, problem or "")
    return "one mode after resume"


@case("security")
def permission_modes_sweep_job(c: Case) -> str:
    """A sweep job's run files share one permission mode."""
    problem = mode_problem(c.ctx.sweep_reference() / "0")
    need(problem is None, problem or "")
    return "one mode in a sweep job"


# ============================================================================================
# directory reuse, locks, skip_done
# ============================================================================================


@case("directory reuse")
def fresh_run_in_completed_dir(c: Case) -> str:
    """A fresh run (no resume=) into a dir holding a completed run is refused, nothing changes."""
    run_dir = c.copy_run(c.ctx.reference(TINY))
    before = c.snap()
    res = c.train(TINY, run_dir, timeout=QUICK_TIMEOUT + 30)
    return expect_refused(res, before, c.snap())


@case("directory reuse")
def fresh_run_in_interrupted_dir(c: Case) -> str:
    """A fresh run into a dir holding a killed run is refused, nothing changes."""
    run_dir = c.copy_run(c.ctx.interrupted())
    before = c.snap()
    res = c.train(LONG, run_dir, timeout=QUICK_TIMEOUT + 30)
    return expect_refused(res, before, c.snap())


@case("directory reuse", extended=True)
def fresh_run_other_config_in_completed_dir(c: Case) -> str:
    """A fresh run with another config (depth=3) into a completed run's dir is refused."""
    run_dir = c.copy_run(c.ctx.reference(TINY))
    before = c.snap()
    res = c.train(TINY.without("depth"), run_dir, "depth=3", timeout=QUICK_TIMEOUT + 30)
    return expect_refused(res, before, c.snap())


def _second_process(kind: str) -> Callable[[Case], str]:
    def run(c: Case) -> str:
        run_dir = c.work / "run"
        a = c.start_train(HOLD, run_dir)
        need_job(wait_writes(a, run_dir / "checkpoints" / "last.pt", 1), a, "first run wrote no checkpoint")
        if kind == "resume":
            b = c.start("train", [f"resume={run_dir}"])
        elif kind == "fresh":
            b = c.start("train", [*HOLD.without("seed"), "seed=1", f"hydra.run.dir={run_dir}"])
        else:
            b = c.start("train", [*HOLD.overrides, "skip_done=true", f"hydra.run.dir={run_dir}"])
        rb = b.wait(60)
        a_alive = a.alive()
        ra = a.wait(TRAIN_TIMEOUT)
        problem = refusal_problem(rb)
        need(
            a_alive,
            f"the second process was not refused at once: it ended after the first run "
            f"({rb.seconds:.1f} s; {problem or 'then exit 0'})",
        )
        need(problem is None, f"second process: {problem}")
        need(ra.rc == 0, f"the first run was disturbed: {ra.describe()}")
        need(
            completed_problem(run_dir, HOLD.epochs) is None,
            "first run: " + str(completed_problem(run_dir, HOLD.epochs)),
        )
        overrides = run_dir / ".hydra" / "overrides.yaml"
        need(not overrides.exists() or "seed=1" not in overrides.read_text(), "the second process rewrote .hydra/")
        return f"second process refused in {rb.seconds:.1f} s while the first ran: {short(rb.err_lines[0], 70)}"

    what = {
        "resume": "resume=<dir>",
        "fresh": "a fresh run (seed=1)",
        "skip_done": "the same config with skip_done=true",
    }
    run.__doc__ = (
        f"While a run trains (lock held), {what[kind]} on the same dir is refused at once with one line; "
        "the first run completes undisturbed."
    )
    return run


register("directory reuse", "second_process_resume_while_running", _second_process("resume"), quick=True, slots=2)
register("directory reuse", "second_process_fresh_while_running", _second_process("fresh"), slots=2)
register(
    "directory reuse", "second_process_skip_done_while_running", _second_process("skip_done"), slots=2, extended=True
)


@case("directory reuse")
def skip_done_same_config_noop(c: Case) -> str:
    """skip_done=true with the same config on a completed run dir exits 0 and changes nothing."""
    run_dir = c.copy_run(c.ctx.reference(TINY))
    before = c.snap()
    res = c.train(TINY, run_dir, "skip_done=true", timeout=QUICK_TIMEOUT + 30)
    diffs = snapshot_diff(before, c.snap())
    need(res.rc == 0, f"skip_done same config: {res.describe()}")
    need(not diffs, "files changed: " + "; ".join(diffs))
    return f"exit 0 in {res.seconds:.1f} s, nothing changed"


def _skip_done_other(key: str, value: str) -> Callable[[Case], str]:
    def run(c: Case) -> str:
        run_dir = c.copy_run(c.ctx.reference(TINY))
        before = c.snap()
        res = c.train(TINY.without(key), run_dir, f"{key}={value}", "skip_done=true", timeout=QUICK_TIMEOUT + 30)
        return expect_refused(res, before, c.snap(), [key])

    run.__doc__ = (
        f"skip_done=true with {key}={value} on a completed run of another {key}: refused naming {key}, nothing changes."
    )
    return run


register("directory reuse", "skip_done_other_depth_refused", _skip_done_other("depth", "3"), quick=True)
register("directory reuse", "skip_done_other_width_refused", _skip_done_other("model.width", "32"))


@case("directory reuse")
def resume_changed_override_refused(c: Case) -> str:
    """resume= of an interrupted run with model.width=64 is refused naming model.width, nothing changes."""
    run_dir = c.copy_run(c.ctx.interrupted())
    before = c.snap()
    res = c.resume(run_dir, "model.width=64", timeout=QUICK_TIMEOUT + 30)
    return expect_refused(res, before, c.snap(), ["model.width"])


@case("directory reuse")
def resume_dir_without_run_refused(c: Case) -> str:
    """resume= of an existing dir that holds no run is refused with one line, nothing changes."""
    run_dir = c.work / "notarun"
    run_dir.mkdir()
    (run_dir / "notes.txt").write_text("hello\n")
    before = c.snap()
    res = c.resume(run_dir, timeout=QUICK_TIMEOUT)
    return expect_refused(res, before, c.snap())


# ============================================================================================
# sweeps
# ============================================================================================


def results_rows(sweep_dir: Path) -> dict[str, dict[str, str]]:
    """results.csv rows by job number (column 'job', else row order)."""
    path = sweep_dir / "results.csv"
    need(path.exists(), "no results.csv")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    need(bool(rows) and "status" in rows[0], "results.csv has no status column")
    return {str(row.get("job", i)): row for i, row in enumerate(rows)}


def _kill_worker(late: bool) -> Callable[[Case], str]:
    grid = ("activation=relu,tanh", "depth=1,2")

    def run(c: Case) -> str:
        sweep_dir = c.work / "sweep"
        job = c.start(
            "train",
            [
                "-m",
                "hydra/launcher=joblib",
                "hydra.launcher.n_jobs=2",
                *grid,
                *LONG.without("depth"),
                f"hydra.sweep.dir={sweep_dir}",
            ],
        )
        target: list[tuple[int, str]] = []
        wanted = {"2", "3"} if late else {"0", "1"}
        in_job = re.compile(re.escape(str(sweep_dir)) + r"/(\d+)/.+")

        def busy(pid: int, num: str) -> bool:
            """Whether ``pid`` holds a file of job ``num`` open (train.log, its lock...) and the job is not done."""
            if not any((m := in_job.fullmatch(path)) and m.group(1) == num for path in open_files(pid)):
                return False
            metrics = sweep_dir / num / "metrics.json"
            return not (metrics.exists() and '"completed"' in metrics.read_text(errors="replace"))

        def training_worker() -> bool:
            for pid in descendants(job.pid):
                for path in open_files(pid):
                    m = in_job.fullmatch(path)
                    if m and m.group(1) in wanted and busy(pid, m.group(1)):
                        target[:] = [(pid, m.group(1))]
                        return True
            return False

        if not poll_until(job, training_worker, SWEEP_TIMEOUT, interval=0.05):
            raise Fail(f"found no worker busy with job {'/'.join(sorted(wanted))} ({job.wait(5).describe()})")
        time.sleep(c.rng.uniform(0.3, 1.5))
        if not busy(*target[0]):  # that job ended meanwhile: take whichever worker trains now
            wanted = {"0", "1", "2", "3"}
            if not poll_until(job, training_worker, 30, interval=0.02):
                raise Fail(f"found no busy worker to kill ({job.wait(5).describe()})")
        pid, num = target[0]
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        res = job.wait(SWEEP_TIMEOUT)
        need(not res.timed_out, "the sweep did not end (hung after the worker died)")
        need(res.rc == 0, f"sweep exit {res.describe()}")
        rows = results_rows(sweep_dir)
        need(num in rows, f"results.csv has no row for killed job {num}")
        need(
            rows[num].get("status") == "crashed",
            f"killed job {num} recorded as {rows[num].get('status')!r}, not crashed",
        )
        others = [n for n in ("0", "1", "2", "3") if n != num]
        bad = [f"{n}:{rows.get(n, {}).get('status')}" for n in others if rows.get(n, {}).get("status") != "completed"]
        need(not bad, f"other jobs not completed: {', '.join(bad)}")
        need((sweep_dir / "report.md").exists(), "no report.md")
        return f"worker of job {num} killed; sweep exit 0, job {num} crashed, 3 completed, report written"

    run.__doc__ = (
        f"joblib sweep of 4 jobs (n_jobs=2): kill -9 the worker training job "
        f"{'2 or 3 (second round)' if late else '0 or 1 (first round)'} (found via /proc fds of the "
        "sweep's children); the sweep exits 0, that job is 'crashed' in results.csv, the others "
        "complete, report.md is written."
    )
    return run


register("sweeps", "kill9_worker_first_round", _kill_worker(False), quick=True, slots=2)
register("sweeps", "kill9_worker_second_round", _kill_worker(True), slots=2, extended=True)


def sweep_args(sweep_dir: Path, grid: Sequence[str], *extra: str) -> list[str]:
    return ["-m", *grid, *TINY.without("depth", "activation"), *extra, f"hydra.sweep.dir={sweep_dir}"]


@case("sweeps")
def different_sweep_refused(c: Case) -> str:
    """A sweep with another grid (activation=relu,tanh) into a dir holding a completed sweep is
    refused with one line and changes nothing."""
    sweep_dir = c.copy_run(c.ctx.sweep_reference(), "sweep")
    before = c.snap()
    res = c.cli("train", sweep_args(sweep_dir, ["activation=relu,tanh"]), SWEEP_TIMEOUT)
    return expect_refused(res, before, c.snap())


@case("sweeps")
def skip_done_other_grid_refused(c: Case) -> str:
    """skip_done=true with another grid (depth=1,3) on a completed sweep dir is refused, nothing changes."""
    sweep_dir = c.copy_run(c.ctx.sweep_reference(), "sweep")
    before = c.snap()
    res = c.cli("train", sweep_args(sweep_dir, ["depth=1,3"], "skip_done=true"), SWEEP_TIMEOUT)
    return expect_refused(res, before, c.snap())


def job_files(sweep_dir: Path) -> dict[str, Entry]:
    """Snapshot of the jobs' metrics.json and checkpoints."""
    roots = [p for n in ("0", "1") for p in (sweep_dir / n / "metrics.json", sweep_dir / n / "checkpoints")]
    return snapshot(*roots)


@case("sweeps")
def skip_done_same_grid_keeps_jobs(c: Case) -> str:
    """skip_done=true with the same grid on a completed sweep exits 0 and leaves every job's
    metrics.json and checkpoints untouched."""
    sweep_dir = c.copy_run(c.ctx.sweep_reference(), "sweep")
    before = job_files(sweep_dir)
    res = c.cli("train", sweep_args(sweep_dir, SWEEP_GRID, "skip_done=true"), SWEEP_TIMEOUT)
    diffs = snapshot_diff(before, job_files(sweep_dir))
    need(res.rc == 0, f"rerun: {res.describe()}")
    need(not diffs, "job files changed: " + "; ".join(diffs))
    return f"exit 0 in {res.seconds:.1f} s, jobs untouched"


@case("sweeps")
def same_sweep_without_skip_done_keeps_jobs(c: Case) -> str:
    """The identical sweep again without skip_done (fresh runs into occupied job dirs): either one
    refusal line or exit 0, and in both cases no job's metrics.json or checkpoint changes."""
    sweep_dir = c.copy_run(c.ctx.sweep_reference(), "sweep")
    before = job_files(sweep_dir)
    res = c.cli("train", sweep_args(sweep_dir, SWEEP_GRID), SWEEP_TIMEOUT)
    diffs = snapshot_diff(before, job_files(sweep_dir))
    need(not diffs, "completed jobs overwritten: " + "; ".join(diffs))
    if res.rc != 0:
        problem = refusal_problem(res)
        need(problem is None, f"refused badly: {problem}")
        return f"refused: {short(res.err_lines[0], 80)}"
    return "exit 0, completed jobs untouched"


@case("sweeps", slots=2)
def second_sweep_while_running_refused(c: Case) -> str:
    """While a sweep runs (basic launcher, 3 LONG jobs), the same sweep command on the same sweep
    dir is refused at once with one line; the first sweep completes every job."""
    sweep_dir = c.work / "sweep"
    args = ["-m", "depth=1,2,3", *LONG.without("depth"), f"hydra.sweep.dir={sweep_dir}"]
    a = c.start("train", args)
    need_job(
        wait_writes(a, sweep_dir / "0" / "checkpoints" / "last.pt", 1, SWEEP_TIMEOUT),
        a,
        "first sweep wrote no checkpoint",
    )
    b = c.start("train", args)
    rb = b.wait(60)
    a_alive = a.alive()
    ra = a.wait(SWEEP_TIMEOUT)
    problem = refusal_problem(rb)
    need(
        a_alive,
        f"the second sweep was not refused at once: it ended after the first "
        f"({rb.seconds:.1f} s; {problem or 'then exit 0'})",
    )
    need(problem is None, f"second sweep: {problem}")
    need(ra.rc == 0, f"first sweep disturbed: {ra.describe()}")
    rows = results_rows(sweep_dir)
    bad = [
        f"{n}:{rows.get(n, {}).get('status')}" for n in ("0", "1", "2") if rows.get(n, {}).get("status") != "completed"
    ]
    need(not bad, f"first sweep's jobs not completed: {', '.join(bad)}")
    return f"second sweep refused in {rb.seconds:.1f} s; first sweep completed"


# ============================================================================================
# bad inputs
# ============================================================================================


def _bad_input(
    args: Sequence[str], names: Sequence[str | tuple[str, ...]], fast: bool = False
) -> Callable[[Case], str]:
    def run(c: Case) -> str:
        keys = {a.split("=", 1)[0].lstrip("+~") for a in args}
        base = [o for o in BAD_BASE if o.split("=", 1)[0] not in keys]
        cmd = [*base, *(a.replace("{work}", str(c.work)) for a in args)]
        if not any(a.startswith("resume=") for a in args):
            cmd.append(f"hydra.run.dir={c.work / 'run'}")
        before = c.snap()
        res = c.cli("train", cmd, timeout=60 if fast else 120, rss_limit_mb=1536 if fast else 4096)
        held = expect_refused(res, before, c.snap(), names)
        if fast:
            need(res.seconds < 25, f"refused, but only after {res.seconds:.1f} s")
        return held

    run.__doc__ = (
        f"`{' '.join(args)}`: refused with one line naming "
        f"{', '.join(n if isinstance(n, str) else n[0] for n in names)}"
        f", nothing created (no run dir, no ./outputs){', within 25 s and 1.5 GiB RSS' if fast else ''}."
    )
    return run


BAD_INPUTS: list[tuple[str, list[str], list[str | tuple[str, ...]], bool, bool | None]] = [
    # name, args, names, fast (time/RSS watched), quick (True) / default (False) / extended (None)
    ("unknown_key_plus_foo", ["+foo=1"], ["foo"], False, False),
    ("unknown_key_model_widht", ["+model.widht=128"], ["model.widht"], False, True),
    ("data_name_imagenet", ["data.name=imagenet"], ["data.name"], False, False),
    ("hidden_empty", ["model.hidden=[]"], ["model.hidden"], False, False),
    ("shift_augment_100", ["data.shift_augment=100"], ["data.shift_augment"], False, False),
    ("conv_with_hidden", ["model=conv", "model.hidden=[10]"], ["model.hidden"], False, False),
    ("depth_100000", ["depth=100000"], ["depth"], True, True),
    ("width_10000000", ["model.width=10000000"], ["model.width"], True, False),
    ("conv_channels_100000", ["model=conv", "model.channels=100000"], ["model.channels"], True, False),
    ("activation_foo", ["activation=foo"], ["activation"], False, False),
    ("depth_0", ["depth=0"], ["depth"], False, False),
    ("resume_nonexistent", ["resume={work}/nonexistent/dir"], [("resume", "nonexistent/dir")], False, True),
    ("batch_size_0", ["trainer.batch_size=0"], ["trainer.batch_size"], False, None),
    ("epochs_negative", ["trainer.epochs=-1"], ["trainer.epochs"], False, None),
    ("lr_not_a_number", ["optimizer.lr=abc"], ["optimizer.lr"], False, None),
    ("unknown_model_group", ["model=transformer"], ["model"], False, None),
]
for _name, _args, _names, _fast, _quick in BAD_INPUTS:
    register("bad inputs", _name, _bad_input(_args, _names, _fast), quick=bool(_quick), extended=_quick is None)


@case("bad inputs")
def evaluate_nonexistent_dir(c: Case) -> str:
    """evaluate.py on a dir that does not exist: one line naming it, nothing created."""
    target = c.work / "nope"
    before = c.snap()
    res = c.evaluate(target)
    return expect_refused(res, before, c.snap(), [str(target)])


# ============================================================================================
# disk full
# ============================================================================================


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
            raise Fail("metrics.json left invalid by the full disk") from None


def _disk_full_fill(at_write: int | None) -> Callable[[Case], str]:
    def run(c: Case) -> str:
        c.ctx.can_mount()
        mnt = c.work / "mnt"
        c.ctx.mount_tmpfs(mnt, "16m")
        try:
            run_dir = mnt / "run"
            job = c.start_train(LONG, run_dir)
            k = at_write if at_write is not None else c.rng.randint(1, LONG.epochs - 1)
            ok = wait_writes(job, run_dir / "checkpoints" / "last.pt", k)
            if at_write is None:
                time.sleep(c.rng.uniform(0.0, 0.25))
            alive = job.alive()
            filler = fill_disk(mnt)
            res = job.wait(TRAIN_TIMEOUT)
            need(ok and alive, "the run ended before the disk could be filled")
            if res.rc == 0 and completed_problem(run_dir, LONG.epochs, c.ctx.reference_test(LONG)) is None:
                return f"filled after write #{k}, but the run had written everything it needed: completed correctly"
            check_disk_full_failure(res, run_dir)
            existing_files_valid(run_dir)
            filler.unlink()
            c.resume_to_completion(run_dir, LONG, "resume after freeing space")
            return f"filled after write #{k}: one ENOSPC line naming the path; resume completed identically"
        finally:
            c.kill_jobs()
            c.ctx.umount(mnt)

    where = (
        "a seeded random checkpoint write (plus 0-0.25 s)"
        if at_write is None
        else "the last checkpoint"
        if at_write == LONG.epochs
        else f"checkpoint write #{at_write}"
    )
    run.__doc__ = (
        f"run dir on a 16 MiB tmpfs, filled up right after {where}: exit non-zero, one line with 'no "
        "space left on device' and the path, existing files valid; after freeing space resume= "
        "completes with a consistent history and bit-identical test metrics."
    )
    return run


register("disk full", "fill_after_first_checkpoint", _disk_full_fill(1), quick=True)
register("disk full", "fill_after_last_checkpoint", _disk_full_fill(LONG.epochs))
register("disk full", "fill_at_random_time", _disk_full_fill(None), extended=True)


@case("disk full")
def small_tmpfs_second_checkpoint(c: Case) -> str:
    """A tmpfs sized from the reference run: all of its files plus half a last.pt, so the first
    epoch fits but writing the next checkpoint beside the old one does not. The run stops with
    one ENOSPC line naming the path; after growing the tmpfs, resume= completes identically."""
    c.ctx.can_mount()
    ref = c.ctx.reference(LONG)
    files = [p for p in ref.rglob("*") if p.is_file()]
    used = sum(-(-p.stat().st_size // 4096) * 4096 for p in files)  # tmpfs counts whole pages
    size_kb = (used + (ref / "checkpoints" / "last.pt").stat().st_size // 2 + 64 * 1024) // 1024
    mnt = c.work / "mnt"
    c.ctx.mount_tmpfs(mnt, f"{size_kb}k")
    try:
        run_dir = mnt / "run"
        res = c.train(LONG, run_dir)
        if res.rc == 0 and completed_problem(run_dir, LONG.epochs, c.ctx.reference_test(LONG)) is None:
            return f"{size_kb} KiB held the whole run (checkpoints rewritten in place?): completed correctly"
        check_disk_full_failure(res, run_dir)
        existing_files_valid(run_dir)
        c.ctx.remount(mnt, "64m")
        c.resume_to_completion(run_dir, LONG, "resume after growing the tmpfs")
        return f"{size_kb} KiB tmpfs: one ENOSPC line; resume completed identically"
    finally:
        c.kill_jobs()
        c.ctx.umount(mnt)


@case("disk full")
def full_before_start(c: Case) -> str:
    """The run dir's filesystem is already full at launch: exit non-zero with one line naming
    'no space left on device' and the path, no traceback."""
    c.ctx.can_mount()
    mnt = c.work / "mnt"
    c.ctx.mount_tmpfs(mnt, "1m")
    try:
        fill_disk(mnt)
        run_dir = mnt / "run"
        res = c.train(TINY, run_dir, timeout=QUICK_TIMEOUT + 60)
        check_disk_full_failure(res, run_dir)
        return "one ENOSPC line naming the path"
    finally:
        c.kill_jobs()
        c.ctx.umount(mnt)


# ============================================================================================
# runner
# ============================================================================================


@dataclass
class Outcome:
    category: str
    name: str
    status: str  # held | failed | skipped
    reason: str
    seconds: float
    doc: str = ""


class Slots:
    """At most ``n`` busy processes: a case takes ``slots`` of them while it runs."""

    def __init__(self, n: int) -> None:
        self.free = n
        self.n = n
        self.cv = threading.Condition()

    def acquire(self, k: int) -> None:
        k = min(k, self.n)
        with self.cv:
            while self.free < k:
                self.cv.wait(0.5)
            self.free -= k

    def release(self, k: int) -> None:
        with self.cv:
            self.free += min(k, self.n)
            self.cv.notify_all()


def run_case(ctx: Ctx, spec: CaseSpec, keep: bool, print_lock: threading.Lock) -> Outcome:
    """Run one case in a fresh dir; never raises."""
    base = ctx.root / "cases" / f"{CATEGORIES.index(spec.category)}-{spec.category.replace(' ', '_')}" / spec.name
    t0 = time.monotonic()
    status, reason = "failed", ""
    battery_traceback = ""
    c: Case | None = None
    _PATHS.value = (str(base / "work"), str(ctx.root))
    try:
        c = Case(ctx, spec, base)
        reason = spec.func(c) or "held"
        status = "held"
    except Fail as err:
        reason = str(err) or "failed"
    except Skip as err:
        status, reason = "skipped", str(err)
    except Exception as err:
        reason = f"battery error {type(err).__name__}: {short(str(err), 100)}"
        battery_traceback = traceback.format_exc()
    finally:
        if c is not None:
            c.kill_jobs()  # a case never leaves a process behind
    seconds = time.monotonic() - t0
    if ctx.aborting and status == "failed":
        status, reason = "skipped", "aborted (Ctrl-C)"
    if not keep and base.exists():
        shutil.rmtree(base, ignore_errors=True)
    reason = short(reason, 10_000)  # the case's paths shortened
    _PATHS.value = (None, None)
    out = Outcome(spec.category, spec.name, status, short(reason, 200), seconds, spec.doc)
    with print_lock:
        mark = {"held": "held  ", "failed": "FAILED", "skipped": "skip  "}[status]
        print(f"{mark} {seconds:6.1f}s  {spec.category}/{spec.name}: {short(reason, 140)}", flush=True)
        if battery_traceback:  # a bug in the battery itself: show where
            print(battery_traceback, file=sys.stderr, flush=True)
    return out


def select(quick: bool, only: Sequence[str] | None, extended: bool = False) -> list[CaseSpec]:
    """The cases to run: --quick subset, default set, or everything with --extended; --only filters."""
    chosen = [c for c in CASES if extended or not c.extended]
    if only:
        wanted: set[tuple[str, str]] = set()
        for name in only:
            norm = name.lower().replace("-", " ").replace("_", " ").strip()
            if norm in CATEGORIES:
                wanted.update((c.category, c.name) for c in chosen if c.category == norm)
                continue
            cases = [c for c in CASES if name in (c.name, f"{c.category}/{c.name}")]  # a case by name: any tier
            if not cases:
                raise SystemExit(
                    f"Error: --only {name!r} is neither a category ({', '.join(CATEGORIES)}) "
                    "nor a case name (see --list --extended)"
                )
            wanted.update((c.category, c.name) for c in cases)
        chosen = [c for c in CASES if (c.category, c.name) in wanted]
    if quick:
        chosen = [c for c in chosen if c.quick]
    # 2-slot cases first within the order they would run: they cannot share the machine anyway
    return sorted(chosen, key=lambda c: (-c.slots, CATEGORIES.index(c.category)))


def table(outcomes: list[Outcome]) -> str:
    lines = [f"{'category':<17} {'tried':>5} {'held':>5} {'skipped':>8}", "-" * 38]
    for cat in CATEGORIES:
        rows = [o for o in outcomes if o.category == cat]
        if rows:
            lines.append(
                f"{cat:<17} {sum(o.status != 'skipped' for o in rows):>5} "
                f"{sum(o.status == 'held' for o in rows):>5} {sum(o.status == 'skipped' for o in rows):>8}"
            )
    lines.append("-" * 38)
    lines.append(
        f"{'total':<17} {sum(o.status != 'skipped' for o in outcomes):>5} "
        f"{sum(o.status == 'held' for o in outcomes):>5} {sum(o.status == 'skipped' for o in outcomes):>8}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a representative subset (about 2 minutes)")
    parser.add_argument(
        "--only", nargs="+", metavar="CATEGORY", help=f"categories ({', '.join(CATEGORIES)}) or case names"
    )
    parser.add_argument("--extended", action="store_true", help="also the extra variants (about 3 more minutes)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the outcomes as JSON")
    parser.add_argument("--list", action="store_true", help="list the selected cases and what they check")
    parser.add_argument("--jobs", type=int, default=2, help="busy processes at once (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random kills and byte flips")
    parser.add_argument("--repo", type=Path, default=REPO, help="the aelab checkout to test (default: this one)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("AELAB_DATA_DIR", "/work/shared/data")),
        help="folder holding MNIST/raw (read-only; copied where a case damages it)",
    )
    args = parser.parse_args(argv)

    specs = select(args.quick, args.only, args.extended)
    if args.list:
        for s in specs:
            tier = " [quick]" if s.quick else " [extended]" if s.extended else ""
            print(f"{s.category}/{s.name}{tier}: {short(s.doc, 200)}")
        print(f"{len(specs)} cases")
        return 0
    if not (args.data_dir / "MNIST" / "raw").is_dir():
        print(f"Error: no MNIST/raw under {args.data_dir} (set --data-dir or AELAB_DATA_DIR)", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="aelab-fault-battery-"))
    ctx = Ctx(args.repo.resolve(), root, args.data_dir.resolve(), args.seed)
    print(f"fault battery: {len(specs)} cases, {args.jobs} at a time, repo {ctx.repo}, scratch {root}", flush=True)
    t0 = time.monotonic()
    outcomes: list[Outcome] = []
    out_lock = threading.Lock()
    print_lock = threading.Lock()
    slots = Slots(max(1, args.jobs))
    threads: list[threading.Thread] = []
    interrupted = False

    def worker(spec: CaseSpec) -> None:
        try:
            outcome = run_case(ctx, spec, args.keep, print_lock)
            with out_lock:
                outcomes.append(outcome)
        finally:
            slots.release(spec.slots)

    stragglers = 0
    try:
        for spec in specs:
            slots.acquire(spec.slots)
            thread = threading.Thread(target=worker, args=(spec,), name=spec.name, daemon=True)
            thread.start()
            threads.append(thread)
        for thread in threads:
            while thread.is_alive():
                thread.join(0.5)
    except KeyboardInterrupt:
        interrupted = True
        ctx.aborting = True
        print("\ninterrupted: stopping the cases...", file=sys.stderr, flush=True)
        ctx.kill_all()
        for thread in threads:
            thread.join(30)
    finally:
        stragglers = ctx.kill_all()
        ctx.umount_all()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    order = {(s.category, s.name): i for i, s in enumerate(sorted(specs, key=lambda s: CATEGORIES.index(s.category)))}
    outcomes.sort(key=lambda o: order.get((o.category, o.name), 0))
    wall = time.monotonic() - t0
    print()
    print(table(outcomes))
    failed = [o for o in outcomes if o.status == "failed"]
    skipped = [o for o in outcomes if o.status == "skipped"]
    if failed:
        print(f"\nfailed ({len(failed)}):")
        for o in failed:
            print(f"  {o.category}/{o.name}: {o.reason}")
    if skipped:
        print(f"\nskipped ({len(skipped)}):")
        for o in skipped:
            print(f"  {o.category}/{o.name}: {o.reason}")
    print(
        f"\nwall time {wall:.0f} s"
        + (f"; scratch kept in {root}" if args.keep else "")
        + (f"; killed {stragglers} leftover process(es)" if stragglers else "")
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "wall_time_s": wall,
                    "repo": str(ctx.repo),
                    "seed": args.seed,
                    "quick": args.quick,
                    "interrupted": interrupted,
                    "cases": [o.__dict__ for o in outcomes],
                },
                indent=2,
            )
        )
    if interrupted:
        return 130
    return 0 if not failed and len(outcomes) == len(specs) else 1


if __name__ == "__main__":
    sys.exit(main())
