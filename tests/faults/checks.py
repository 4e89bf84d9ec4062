"""What a fault case checks: listings of files before and after, the shape of a refusal and of a
completed run, and the damage a case does to a file."""

from __future__ import annotations

import csv
import errno
import hashlib
import json
import os
import random
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .harness import Job, Result

FORBIDDEN_IN_REFUSAL = ("Traceback", "HYDRA_FULL_ERROR", "object_type")
# (case work dir, scratch root) of the running case: reasons name paths relative to them
PATHS: dict[str, str] = {}


def short(text: str, n: int = 150) -> str:
    """One line of at most ``n`` characters; the running case's paths are shortened first."""
    text = " ".join(str(text).split())
    work, root = PATHS.get("work"), PATHS.get("root")
    if work and root:
        text = text.replace(f"{work}/", "").replace(work, ".").replace(root, "<scratch>")
    return text if len(text) <= n else text[: n - 3] + "..."


def need(cond: bool, reason: str) -> None:
    """Fail the case with the one-line ``reason`` unless ``cond``."""
    if not cond:
        pytest.fail(short(reason, 400), pytrace=False)


def need_job(cond: bool, job: Job, reason: str) -> None:
    """Like :func:`need`; on failure also say how ``job`` ended (it is given 5 s, then killed)."""
    if not cond:
        need(False, f"{reason} ({job.wait(5).describe()})")


# --- listings ---------------------------------------------------------------------------------

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
    diffs.sort(key=lambda d: d.startswith("dir "))  # what was created/changed first, dir mtimes last
    if len(diffs) > limit:
        return diffs[:limit] + [f"... {len(diffs) - limit} more"]
    return diffs


# --- damage -----------------------------------------------------------------------------------


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


def set_magic(path: Path) -> None:
    """Overwrite the IDX magic number at the start of ``path``."""
    with open(path, "r+b") as f:
        f.write(b"\x00\x00\xde\xad")


def rehash(path: Path) -> None:
    """Record ``path``'s SHA-256 in ``<path>.sha256`` as aelab does, so a forged file passes the hash
    check and what refuses it is the loader itself (an attacker who writes one writes both)."""
    path.with_name(path.name + ".sha256").write_text(f"{sha256(path)}  {path.name}\n")


def fill_disk(directory: Path, cap_mb: int = 256) -> Path:
    """Write a filler file into ``directory`` (a small tmpfs) until it is full; return its path.

    Refuses to write more than ``cap_mb`` MiB, so a mount that silently failed never fills the real disk.
    """
    if not os.path.ismount(directory):
        pytest.skip(f"{directory} is not a mount point")
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
                    pytest.skip(f"{directory} did not fill up within {cap_mb} MiB")
    return filler


# --- a run's records --------------------------------------------------------------------------


def read_json(path: Path) -> dict[str, Any]:
    """metrics.json as a dict, or fail the case saying what is wrong."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        pytest.fail(f"{path.name} missing", pytrace=False)
    except (ValueError, OSError) as err:
        pytest.fail(f"{path.name} unreadable: {short(str(err), 60)}", pytrace=False)
    need(isinstance(data, dict), f"{path.name} is not an object")
    return data


def completed_problem(run_dir: Path, epochs: int, ref_test: dict[str, Any] | None = None) -> str | None:
    """What is wrong with ``run_dir`` as a completed run of ``epochs`` epochs (None: nothing)."""
    try:
        m = json.loads((run_dir / "metrics.json").read_text())
    except FileNotFoundError:
        return "metrics.json missing"
    except (ValueError, OSError) as err:
        return f"metrics.json unreadable: {short(str(err), 60)}"
    if not isinstance(m, dict):
        return "metrics.json is not an object"
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
        need(False, f"{problem}; and {diffs[0]}")
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
        return f"no run files found in {run_dir}"
    if len(modes) > 1:
        return "modes differ: " + ", ".join(
            f"{m} ({', '.join(v[:2])}{'...' if len(v) > 2 else ''})" for m, v in sorted(modes.items())
        )
    return None


# --- sweeps -----------------------------------------------------------------------------------


def job_dir(sweep_dir: Path, num: int) -> Path:
    """Job ``num``'s directory in a sweep dir (named ``03_depth=2``: its number, then its overrides)."""
    found = sorted(sweep_dir.glob(f"{num:02d}_*"))
    need(len(found) == 1, f"{len(found)} directories for job {num} in {sweep_dir}")
    return found[0]


def results_rows(sweep_dir: Path) -> dict[str, dict[str, str]]:
    """results.csv rows by job number (column 'job', else row order)."""
    path = sweep_dir / "results.csv"
    need(path.exists(), "no results.csv")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    need(bool(rows) and "status" in rows[0], "results.csv has no status column")
    return {str(row.get("job", i)): row for i, row in enumerate(rows)}


def statuses(sweep_dir: Path, nums: Iterable[int], want: str = "completed") -> list[str]:
    """``num:status`` for each job of ``nums`` whose results.csv status is not ``want``."""
    rows = results_rows(sweep_dir)
    return [f"{n}:{rows.get(str(n), {}).get('status')}" for n in nums if rows.get(str(n), {}).get("status") != want]
