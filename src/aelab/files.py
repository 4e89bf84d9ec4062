"""Every file aelab writes goes through here: atomically, with one mode, never through a link.

* :func:`write_atomic` (and ``write_text`` / ``write_json``): a temp file beside the target,
  fsynced, then renamed over it, so a kill leaves the old file or the new one, never half of one.
  Files get mode ``0o666 & ~umask`` like any other file the user creates (``mkstemp``'s 0600
  would differ from the rest of the run dir). A full disk is one line, :class:`DiskFullError`
  naming the path, and leaves the old file in place.
* :func:`write_verified` / :func:`read_verified`: a file with its SHA-256 recorded beside it in
  ``<name>.sha256`` (``sha256sum -c`` format). The hash is written *before* the file and may
  list the old hash too while the file is replaced, so a kill between the two writes never makes
  a good file look corrupt; any other mismatch is a corrupt file, named in one line.
* :func:`open_log`: append to a log without following a symbolic link.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from aelab import faults
from aelab.errors import AelabError, CorruptFileError, DiskFullError

_UMASK = os.umask(0)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK
HASH_SUFFIX = ".sha256"


def os_error(err: OSError, path: Path) -> AelabError:
    """The one-line error for an OSError while writing ``path`` (a full disk: DiskFullError)."""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(f"no space left on device: {path}")
    return AelabError(f"cannot write {path}: {err.strerror or err}")


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
    """The JSON in ``path``; a damaged file is one :class:`CorruptFileError` naming it."""
    path = Path(path)
    try:
        return json.loads(path.read_bytes())
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError
        raise CorruptFileError(f"{path} is not valid JSON ({err})") from None
    except IsADirectoryError:
        raise CorruptFileError(f"{path} is a directory, not a JSON file") from None


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


def recorded_hashes(path: str | Path) -> list[str]:
    """The SHA-256 values recorded for ``path`` (empty when none is, or the record is unreadable)."""
    try:
        text = hash_path(Path(path)).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return []
    hashes = [line.split()[0].lower() for line in text.splitlines() if line.strip()]
    return [h for h in hashes if len(h) == 64 and all(c in "0123456789abcdef" for c in h)]


def _hash_record(name: str, hashes: list[str]) -> str:
    return "".join(f"{h}  {name}\n" for h in hashes)


def write_verified(path: str | Path, data: bytes) -> str:
    """Write ``data`` to ``path`` atomically with its SHA-256 recorded in ``<path>.sha256``;
    return the hash. Order: record (old + new hash), file, record (new hash only)."""
    path = Path(path)
    digest = sha256(data)
    old = [h for h in recorded_hashes(path) if h != digest]
    write_atomic(hash_path(path), _hash_record(path.name, [*old[-1:], digest]).encode())
    write_atomic(path, data)
    if old:
        write_atomic(hash_path(path), _hash_record(path.name, [digest]).encode())
    return digest


def read_verified(path: str | Path) -> bytes:
    """The bytes of ``path`` after checking them against the recorded SHA-256."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CorruptFileError(f"{path} is missing") from None
    except OSError as err:
        raise CorruptFileError(f"{path} cannot be read: {err.strerror or err}") from None
    recorded = recorded_hashes(path)
    if not recorded:
        raise CorruptFileError(
            f"{path} has no recorded SHA-256 ({hash_path(path).name} is missing or "
            "unreadable), so it cannot be verified"
        )
    if not data:
        raise CorruptFileError(f"{path} is empty (0 bytes)")
    if sha256(data) not in recorded:
        raise CorruptFileError(
            f"{path} is corrupt: its SHA-256 differs from the one recorded when it was written ({hash_path(path).name})"
        )
    return data


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
    "hash_path",
    "open_log",
    "os_error",
    "read_json",
    "read_verified",
    "recorded_hashes",
    "sha256",
    "sha256_file",
    "write_atomic",
    "write_json",
    "write_text",
    "write_verified",
]
