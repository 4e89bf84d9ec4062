"""Every file aelab writes goes through here: atomically, with one mode, never through a link.

* :func:`write_atomic` (and ``write_text`` / ``write_json``): a temp file beside the target,
  fsynced, then renamed over it, so a kill leaves the old file or the new one, never half of one.
  Files get mode ``0o666 & ~umask`` like any other file the user creates (``mkstemp``'s 0600
  would differ from the rest of the run dir). A full disk is one line, :class:`DiskFullError`
  naming the path, and leaves the old file in place.
* :func:`write_verified` / :func:`read_verified`: a file with its SHA-256 recorded beside it in
  ``<name>.sha256`` (``sha256sum -c`` format). The hash is written *before* the file and may
  list the old hash too while the file is replaced, so a kill between the two writes never makes
  a good file look corrupt. A reader takes a consistent snapshot: a file rewritten while it is read
  is read again, and only the same bytes failing the same record twice are a corrupt file, named
  in one line.
* :func:`open_log`: append to a log without following a symbolic link.
* :func:`os_error`: every OSError a user can cause (a full disk, a name too long, a read-only
  file system, no permission, a missing file, a file where a folder belongs) as one line naming
  the path; :func:`check_can_create` refuses such a folder before anything is created.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from aelab import faults
from aelab.errors import AelabError, CorruptFileError, DiskFullError, RunDirError

_UMASK = os.umask(0)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK
HASH_SUFFIX = ".sha256"


def shown(path: str | Path) -> str:
    """``path`` for a one-line message: in full, unless it is longer than a line (a path the file
    system refuses as too long), then its start and end with its length."""
    text = str(path)
    return text if len(text) <= 160 else f"{text[:70]}…{text[-70:]} ({len(text)} characters)"


def _name_max(path: Path) -> int:
    """The longest file name (bytes) the file system holding ``path`` (or its nearest existing
    folder) allows."""
    for folder in (path, *path.parents):
        try:
            return os.pathconf(folder, "PC_NAME_MAX")
        except (OSError, ValueError):
            continue
    return 255


def _too_long(path: Path) -> str:
    """Which part of ``path`` is too long: a name (NAME_MAX) or the whole path (PATH_MAX)."""
    name_max = _name_max(path)
    for part in path.parts:
        size = len(os.fsencode(part))
        if size > name_max:
            name = part if len(part) <= 40 else part[:40] + "…"
            return f"the name {name} is {size} bytes; the file system allows {name_max}"
    size = len(os.fsencode(str(path)))
    return f"the path is {size} bytes; the system allows {_PATH_MAX - 1}"


def _not_a_folder(path: Path) -> str:
    for part in (path, *path.parents):
        if os.path.exists(part) and not os.path.isdir(part):  # neither raises, whatever the path
            return f"{shown(part)} is a file, not a directory"
    return "a part of the path is not a directory"


_PATH_MAX = 4096  # Linux; a longer path is refused whatever the file system
_WORDS = {
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied (operation not permitted)",
    errno.ENOENT: "no such file or directory",
    errno.EISDIR: "it is a directory, not a file",
}


def os_error(err: OSError, path: str | Path | None = None, doing: str = "write") -> AelabError:
    """The one-line error for an OSError while doing ``doing`` (write, read, create) on ``path``
    (default: the error's own file name): a full disk is a DiskFullError; a name too long, a
    read-only file system, no permission, a missing file or a file where a folder belongs are
    said in words, naming the path (and the part of it to blame, when that is another one)."""
    where = Path(path if path is not None else err.filename or "?")
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(f"no space left on device: {shown(where)}")
    if err.errno == errno.ENAMETOOLONG:
        why = _too_long(where)
    elif err.errno == errno.ENOTDIR:
        why = _not_a_folder(where)
    else:
        why = _WORDS.get(err.errno or 0, err.strerror or str(err))
        blamed = err.filename
        if blamed and Path(os.fsdecode(blamed)) != where and err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            why += f" ({shown(os.fsdecode(blamed))})"
    return AelabError(f"cannot {doing} {shown(where)}: {why}")


def check_can_create(folder: str | Path) -> None:
    """Refuse, creating nothing, a folder that cannot be created (or written into, if it exists):
    a name longer than the file system allows, a path longer than the system allows, a file where a
    folder belongs, a read-only file system, no permission. One :func:`os_error` line naming it."""
    folder = Path(folder)
    doing = "create"
    try:
        existing, missing = folder, []
        while True:
            try:
                info = os.stat(existing)
                break
            except FileNotFoundError:
                if existing.parent == existing:
                    raise
                missing.append(existing.name)
                existing = existing.parent
        if not missing:
            doing = "write into"
        if not stat.S_ISDIR(info.st_mode):
            raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(existing))
        name_max = _name_max(existing)
        if any(len(os.fsencode(name)) > name_max for name in missing) or len(os.fsencode(str(folder))) >= _PATH_MAX:
            raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG), str(folder))
        if not os.access(existing, os.W_OK | os.X_OK):  # root passes, unless the file system is read-only
            code = errno.EROFS if os.statvfs(existing).f_flag & os.ST_RDONLY else errno.EACCES
            raise OSError(code, os.strerror(code), str(existing))
    except OSError as err:
        raise os_error(err, folder, doing) from None


def write_atomic(path: str | Path, write: Callable[[IO[bytes]], Any] | bytes) -> None:
    """Write ``bytes`` (or whatever ``write(file)`` writes) to ``path`` atomically."""
    path = Path(path)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            if isinstance(write, (bytes, bytearray, memoryview)):
                f.write(write)
            else:
                write(f)
            f.flush()
            os.fsync(f.fileno())
            os.fchmod(f.fileno(), FILE_MODE)
        faults.point(f"writing:{path.name}")  # the new file is whole beside the old one
        os.replace(tmp, path)  # replaces a link at `path` itself, never writes through it
        tmp = None
        _fsync_dir(path.parent)
        faults.point(f"wrote:{path.name}")
    except OSError as err:
        raise os_error(err, path) from err
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_text(path: str | Path, text: str) -> Path:
    write_atomic(path, text.encode("utf-8"))
    return Path(path)


def write_json(path: str | Path, data: Any) -> Path:
    return write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def read_json(path: str | Path) -> Any:
    """The JSON in ``path``; a damaged file is one :class:`CorruptFileError` naming it, a file that
    cannot be read (no permission, missing) one :func:`os_error` line."""
    path = Path(path)
    try:
        return json.loads(path.read_bytes().decode("utf-8"))  # aelab writes UTF-8 only
    except UnicodeDecodeError as err:
        raise CorruptFileError(
            f"{path} is not UTF-8 text (byte {err.object[err.start]:#04x} at offset {err.start}), "
            "so not a JSON file aelab wrote"
        ) from None
    except ValueError as err:  # JSONDecodeError
        raise CorruptFileError(f"{path} is not valid JSON ({err})") from None
    except IsADirectoryError:
        raise CorruptFileError(f"{path} is a directory, not a JSON file") from None
    except OSError as err:
        raise os_error(err, path, "read") from None


def sha256(data: bytes | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def hash_path(path: Path) -> Path:
    return path.with_name(path.name + HASH_SUFFIX)


def _parse_hashes(raw: bytes | None) -> list[str]:
    try:
        text = (raw or b"").decode("ascii")
    except UnicodeDecodeError:
        return []
    hashes = [line.split()[0].lower() for line in text.splitlines() if line.strip()]
    return [h for h in hashes if len(h) == 64 and all(c in "0123456789abcdef" for c in h)]


def recorded_hashes(path: str | Path) -> list[str]:
    """The SHA-256 values recorded for ``path`` (empty when none is, or the record is unreadable)."""
    try:
        return _parse_hashes(hash_path(Path(path)).read_bytes())
    except OSError:
        return []


def _hash_record(name: str, hashes: list[str]) -> str:
    return "".join(f"{h}  {name}\n" for h in hashes)


def write_verified(path: str | Path, data: bytes) -> str:
    """Write ``data`` to ``path`` atomically with its SHA-256 recorded in ``<path>.sha256``;
    return the hash. Order: record (old + new hash), file, record (new hash only). The old hashes
    are all those recorded, so after a kill between the first two writes (the record naming a file
    that never came) the file on disk is still named while the next one replaces it."""
    path = Path(path)
    digest = sha256(data)
    old = [h for h in recorded_hashes(path) if h != digest]
    write_atomic(hash_path(path), _hash_record(path.name, [*old, digest]).encode())
    write_atomic(path, data)
    if old:
        write_atomic(hash_path(path), _hash_record(path.name, [digest]).encode())
    return digest


# A reader retries while the file or its record changes under it: up to _ATTEMPTS snapshots, the
# pause doubling from _PAUSE_S to _MAX_PAUSE_S (with jitter, so a reader never keeps step with a
# writer): about 4 s in all before it gives up on a file that never holds still.
_ATTEMPTS, _PAUSE_S, _MAX_PAUSE_S = 40, 0.001, 0.2
_JITTER = random.Random()  # its own generator: a reader never moves the program's random state


def _record_state(path: Path) -> tuple[int, int, bytes] | None:
    """The hash record of ``path`` as it is now: (inode, mtime, bytes); None if there is none."""
    try:
        with open(hash_path(path), "rb") as f:
            info = os.fstat(f.fileno())
            return info.st_ino, info.st_mtime_ns, f.read()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        return (0, 0, b"")
    except OSError as err:
        raise os_error(err, hash_path(path), "read") from None


def _snapshot(path: Path) -> tuple[bytes, tuple[int, int, bytes] | None, bool]:
    """(the bytes of ``path``, its hash record, stable): stable when the record was the same before
    and after the read and ``path`` still names the file that was read, i.e. no writer replaced
    either meanwhile, so the bytes and the record belong together."""
    before = _record_state(path)
    try:
        with open(path, "rb") as f:
            read = os.fstat(f.fileno())
            data = f.read()
    except FileNotFoundError:
        raise CorruptFileError(f"{path} is missing") from None
    except IsADirectoryError:
        raise CorruptFileError(f"{path} is a directory, not a file") from None
    except OSError as err:
        raise os_error(err, path, "read") from None
    after = _record_state(path)
    try:
        now = os.stat(path)
        same_file = (now.st_dev, now.st_ino) == (read.st_dev, read.st_ino)
    except OSError:
        same_file = False
    return data, after, same_file and before == after


def _problem(path: Path, data: bytes, record: tuple[int, int, bytes] | None) -> str | None:
    """Why ``data`` is not the file its record names (None: it is)."""
    recorded = _parse_hashes(record[2] if record is not None else None)
    if not recorded:
        return (
            f"{path} has no recorded SHA-256 ({hash_path(path).name} is missing or unreadable), "
            "so it cannot be verified"
        )
    if not data:
        return f"{path} is empty (0 bytes)"
    if sha256(data) not in recorded:
        return (
            f"{path} is corrupt: its SHA-256 differs from the one recorded when it was written ({hash_path(path).name})"
        )
    return None


def read_verified(path: str | Path) -> bytes:
    """The bytes of ``path`` after checking them against the recorded SHA-256.

    A live writer (:func:`write_verified`) may replace the file or its record while they are read:
    such a snapshot is taken again, after a short pause. Only the same bytes failing the same
    record in two stable snapshots make a :class:`CorruptFileError`, so a sound file is never
    called corrupt and a damaged one is named at once."""
    path = Path(path)
    failed: tuple[str, bytes] | None = None  # the last stable failure: (the bytes' hash, the record)
    pause = _PAUSE_S
    for _ in range(_ATTEMPTS):
        data, record, stable = _snapshot(path)
        problem = _problem(path, data, record)
        if problem is None:
            return data
        seen = (sha256(data), record[2] if record is not None else b"")
        if stable and seen == failed:
            raise CorruptFileError(problem)
        failed = seen if stable else None
        time.sleep(pause * _JITTER.uniform(0.5, 1.5))
        pause = min(2 * pause, _MAX_PAUSE_S)
    raise RunDirError(
        f"{path} kept changing while it was read ({_ATTEMPTS} tries): another process is rewriting it "
        "faster than it can be verified; read it again when that process pauses or ends"
    )


def open_log(path: str | Path) -> IO[str]:
    """``path`` opened for appending text, refusing to follow a symbolic link."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise CorruptFileError(
                f"{path} is a symbolic link; aelab does not write through links (remove it)"
            ) from None
        raise os_error(err, path) from err
    return os.fdopen(fd, "a", encoding="utf-8")


__all__ = [
    "FILE_MODE",
    "check_can_create",
    "hash_path",
    "open_log",
    "os_error",
    "read_json",
    "read_verified",
    "recorded_hashes",
    "sha256",
    "sha256_file",
    "shown",
    "write_atomic",
    "write_json",
    "write_text",
    "write_verified",
]
