"""What runs in a sweep job's own process (a forked ProcessLauncher job, a submitit job): its stop signals.

While the job's run trains, train() holds SIGINT and SIGTERM (the run commits its step and ends
``interrupted``). Before the run has begun — the job's process loading its config — there is no run
to take them, and the handlers the process inherited are not the job's (a forked job inherits the
sweep's; submitit's ignore SIGTERM or requeue the job). :func:`take_job_signals` installs the job's
own for the process's life: a stop keeps the run from starting (:class:`JobStopped`), or stops it
at its first step when it comes as the run begins; after the run, it changes nothing.
"""

from __future__ import annotations

import signal
from types import FrameType

from aelab.training import interrupt


class JobStopped(RuntimeError):
    """A stop signal came before the job's run began: the run was not started."""


def _handler(signum: int, frame: FrameType | None) -> None:
    interrupt.request_stop(signal.Signals(signum).name)


def take_job_signals(*extra: signal.Signals) -> None:
    """SIGINT, SIGTERM and ``extra`` (a Slurm job's time-limit warning) stop this job's run, also
    when they come before it begins (:func:`aelab.training.interrupt.request_stop`)."""
    for sig in extra:
        interrupt.stop_also_on(sig)
    for sig in (signal.SIGINT, signal.SIGTERM, *extra):
        signal.signal(sig, _handler)


def stop_before_run() -> None:
    """Raise :class:`JobStopped` if a stop came while the job was setting up (its run is not started)."""
    stops = interrupt.caught()
    if stops:
        raise JobStopped(f"stopped by {stops[0]} before its run began")


__all__ = ["JobStopped", "stop_before_run", "take_job_signals"]
