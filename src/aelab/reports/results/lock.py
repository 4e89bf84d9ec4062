"""One writer at a time in a folder of results tables: an exclusive ``flock`` on
``<folder>/.results.lock`` while a table's JSON file is re-read, merged and rewritten and RESULTS.md
is rendered from the tables there, so two runs measuring rows of one table (or two tables of one
RESULTS.md) both keep what they measured.

The lock is held for milliseconds (seconds when the kinds table draws a figure), so a second
writer waits for it. The holder removes the lock file before it lets go, so no stray file is left
in a tracked folder such as docs/; a writer that locked a file removed meanwhile tries again on the
one at the path. The kernel releases the lock of a process that dies.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import time
from pathlib import Path
from types import TracebackType

from aelab.errors import RunDirError
from aelab.files import FILE_MODE, os_error

LOCK = ".results.lock"
WAIT_S = 600.0  # a holder that keeps it longer is stuck (stopped, or on a hung file system)
log = logging.getLogger("aelab.results")


class FolderLock:
    """``with FolderLock(folder):`` holds the exclusive lock of ``folder``'s tables."""

    def __init__(self, folder: str | Path, wait_s: float = WAIT_S) -> None:
        self.path = Path(folder) / LOCK
        self.wait_s = wait_s
        self._fd: int | None = None

    def _open(self) -> int:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
        except OSError as err:
            if err.errno == errno.ELOOP:
                raise RunDirError(f"{self.path} is a symbolic link; remove it") from None
            raise os_error(err, self.path) from None

    def _still_there(self, fd: int) -> bool:
        """The locked file is the one at the path (not one its holder removed while we waited)."""
        try:
            st = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            return False
        mine = os.fstat(fd)
        return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)

    def __enter__(self) -> FolderLock:
        deadline, said = time.monotonic() + self.wait_s, False
        while True:
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):  # no locks on this file system
                    os.close(fd)
                    raise os_error(err, self.path) from None
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                os.close(fd)
                if time.monotonic() > deadline:
                    raise RunDirError(
                        f"{self.path} is held by pid {holder} for over {self.wait_s:g} s; if that process "
                        "is gone or stuck, remove the file and run again"
                    ) from None
                if not said:
                    log.info("waiting for %s (pid %s is writing a table there)", self.path, holder)
                    said = True
                time.sleep(0.05)
                continue
            if self._still_there(fd):
                break
            os.close(fd)
        try:  # who holds it, for the message a waiting process gives; the lock works without it
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass
        self._fd = fd
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._fd is None:
            return
        try:
            self.path.unlink()  # while still held: a waiter that opened this file sees it gone and retries
        except OSError:
            pass
        os.close(self._fd)  # closing the descriptor releases the flock
        self._fd = None


__all__ = ["LOCK", "WAIT_S", "FolderLock"]
