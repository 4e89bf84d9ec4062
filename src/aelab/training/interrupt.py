"""Graceful stops: on SIGINT/SIGTERM the training loop finishes its step, saves, and exits non-zero.

A sweep's job process adds to this: its time-limit warning stops a run too (:func:`stop_also_on`),
a stop that arrives while no run is there to take it (the job's set-up) is kept for the run that
follows (:func:`request_stop`), and the launcher reads which stops came (:func:`caught`).

Fail point ``stop:check`` (:mod:`aelab.faults`) is passed each time a run looks for a stop, once a
training step: ``AELAB_FAILPOINT=stop:check@12=stop`` halts the process at its 12th step, where a
test can send its signals before it lets the run go on.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

from aelab import faults

_STOP_SIGNALS: list[signal.Signals] = [signal.SIGINT, signal.SIGTERM]
_CAUGHT: list[str] = []  # the stop signals this process received, in order
_PENDING: list[str] = []  # those that came while no run was installed to take them


def stop_also_on(sig: signal.Signals) -> None:
    """Let ``sig`` stop this process's runs as SIGTERM does (a Slurm job's time-limit warning)."""
    if sig not in _STOP_SIGNALS:
        _STOP_SIGNALS.append(sig)


def request_stop(name: str) -> None:
    """A stop signal that came outside a run (a sweep job's set-up): the next run stops at its first step."""
    _CAUGHT.append(name)
    _PENDING.append(name)


def caught() -> list[str]:
    """The names of the stop signals this process received so far, in order."""
    return list(_CAUGHT)


class StopFlag:
    """Set by a stop signal while installed; a second Ctrl-C raises KeyboardInterrupt at once."""

    def __init__(self) -> None:
        self._requested: str | None = None
        self._previous: dict[int, object] = {}

    @property
    def requested(self) -> str | None:
        """The first stop signal's name, or None: looked at once a step (fail point ``stop:check``)."""
        faults.point("stop:check")
        return self._requested

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self._requested is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        name = signal.Signals(signum).name
        _CAUGHT.append(name)
        if self._requested is None:  # the first one names the stop (a sweep forwards a second as SIGTERM)
            self._requested = name

    def __enter__(self) -> StopFlag:
        self._requested = _PENDING[0] if _PENDING else None
        if threading.current_thread() is threading.main_thread():  # signals only work there
            for sig in _STOP_SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
