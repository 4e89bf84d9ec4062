"""Processes of the fault battery: each one in its own process group, tagged, with a timeout after
which the group is killed; /proc read for the process tree, open files and memory; a process
stopped (SIGSTOP) while a case places a fault, so the fault cannot miss it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .checks import short

TAG_VAR = "AELAB_FB_TAG"


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


# --- /proc ------------------------------------------------------------------------------------


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
    children: dict[int, list[int]] = {}
    for p, (ppid, _) in proc_table().items():
        children.setdefault(ppid, []).append(p)
    out: list[int] = []
    todo = list(children.get(pid, []))
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def proc_state(pid: int) -> str:
    """The state letter of ``pid`` (R, S, T = stopped, Z = zombie...), "" when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
    except OSError:
        return ""
    return stat[stat.rfind(")") + 2 :].split()[0]


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


# --- jobs -------------------------------------------------------------------------------------


class Registry:
    """The battery's live jobs and its tag: what a case end, or the session end, kills."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.jobs: set[Job] = set()

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
        for job in list(self.jobs):
            job.kill9()
        stragglers = self.ours()
        for pid in stragglers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return len(stragglers)


class Job:
    """A subprocess in its own process group, with stdout/stderr captured to files."""

    def __init__(
        self,
        registry: Registry,
        argv: list[str],
        cwd: Path,
        env: dict[str, str],
        io_dir: Path,
        label: str,
        rss_limit_mb: float | None = None,
    ) -> None:
        self.registry = registry
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
        registry.jobs.add(self)

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
            if self.rss_limit_mb is not None and (r := rss_mb(self.pid)) > self.rss_limit_mb:
                rss_hit = r
            timed_out = time.monotonic() > deadline
            if rss_hit is not None or timed_out:
                self.send(signal.SIGKILL, group=True)
                try:
                    self.proc.wait(30)
                except subprocess.TimeoutExpired:
                    pass
                break
            time.sleep(0.02)
        seconds = time.monotonic() - self.t0
        self.registry.kill_group_members(self.pid)  # e.g. sweep jobs left behind by a dead sweep
        self.result = Result(
            self.argv, self.proc.returncode, _read(self.out_path), _read(self.err_path), seconds, timed_out, rss_hit
        )
        self.registry.jobs.discard(self)
        return self.result


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode(errors="replace")
    except OSError:
        return ""


# --- waiting for a state, and holding a process in it ---------------------------------------------


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
        time.sleep(interval)
    return False


@contextmanager
def stopped(pid: int, group: bool = False) -> Iterator[bool]:
    """Hold process ``pid`` (or its group) stopped with SIGSTOP; yields whether it is stopped (False:
    it had ended). SIGCONT on exit, so a signal sent meanwhile is handled once it runs on."""
    kill = os.killpg if group else os.kill
    try:
        kill(pid, signal.SIGSTOP)
    except ProcessLookupError:
        yield False
        return
    try:
        deadline = time.monotonic() + 10
        while (state := proc_state(pid)) not in ("T", "t", "Z", "X", "") and time.monotonic() < deadline:
            time.sleep(0.001)
        yield state in ("T", "t")
    finally:
        try:
            kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
