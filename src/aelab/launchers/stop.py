"""Ctrl-C in a sweep means stop, with every launcher.

A terminal sends SIGINT to its whole foreground process group (the sweep's process and the job
processes it started); a scheduler or ``kill`` sends SIGTERM to the sweep's process. Either one:

* the running jobs commit their step and end ``interrupted`` (train() does that on SIGINT/SIGTERM;
  the launcher passes the stop on to jobs the signal did not reach: SIGTERM to a job process,
  ``scancel`` on Slurm);
* no job starts after it;
* the sweep ends with exit status 130 and one last line on the console saying so and how to
  complete it: the same command with ``skip_done=true`` (completed jobs are skipped, interrupted
  ones resume from their last checkpoint, the others run).

A second signal stops waiting for the jobs to end. :class:`SweepStop` holds the sweep process's
handlers while a launcher runs jobs; :class:`SweepStopped` carries the last line to the CLI.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

from aelab.training import interrupt

log = logging.getLogger("aelab.sweep")


class SweepStopped(KeyboardInterrupt):
    """Raised out of a launcher when a stop signal ended the sweep; ``str()`` is the console's last line."""


class SweepStop:
    """The sweep process's SIGINT/SIGTERM while a launcher runs jobs.

    ``on_stop()`` runs at the first signal (a launcher passes the stop on to its jobs), ``on_again()``
    at each later one; ``raise_at_once``: the handler raises KeyboardInterrupt (jobs running in the
    sweep's own process, where train() holds the signals while a run trains).
    """

    def __init__(
        self,
        on_stop: Callable[[], None] | None = None,
        on_again: Callable[[], None] | None = None,
        raise_at_once: bool = False,
    ) -> None:
        self.on_stop, self.on_again, self.raise_at_once = on_stop, on_again, raise_at_once
        self.requested: str | None = None
        self.again = False
        self._previous: dict[int, Any] = {}
        self._pid = os.getpid()

    def __enter__(self) -> SweepStop:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if os.getpid() != self._pid:  # a job forked from the sweep, before it took its own handlers
            interrupt.request_stop(signal.Signals(signum).name)
            return
        self.note(signal.Signals(signum).name)
        if self.raise_at_once:
            raise KeyboardInterrupt

    def note(self, name: str) -> None:
        """A stop signal came (to this handler, or to a run of this process, which says so)."""
        if self.requested is None:
            self.requested = name
            log.warning("%s: stopping the sweep (running jobs commit their step; no more jobs start)", name)
            if self.on_stop is not None:
                self.on_stop()
        else:
            self.again = True
            if self.on_again is not None:
                self.on_again()

    def stopped(self, statuses: Sequence[str | None]) -> SweepStopped:
        """The exception that ends the sweep, its message counting the jobs' statuses (None: not started)."""
        counts: dict[str, int] = {}
        for status in statuses:
            key = status or "not started"
            counts[key] = counts.get(key, 0) + 1
        order = ["interrupted", "completed", "failed", "crashed", "not started"]
        parts = [f"{counts[k]} {k}" for k in order if k in counts]
        parts += [f"{n} {k}" for k, n in sorted(counts.items()) if k not in order]
        return SweepStopped(
            f"sweep stopped by {self.requested} ({', '.join(parts)} of {len(statuses)} jobs); "
            "complete it with the same command and skip_done=true"
        )


__all__ = ["SweepStop", "SweepStopped"]
