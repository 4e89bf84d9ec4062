"""Fail points: named places where a test can stop the process, at exactly that line.

A fault test sets ``AELAB_FAILPOINT`` in the environment of the process it starts::

    AELAB_FAILPOINT=commit:after_last            # SIGKILL the first time the point is passed
    AELAB_FAILPOINT=commit:after_last@3          # ... the third time
    AELAB_FAILPOINT=commit:after_last@3=term     # send SIGTERM instead (also: int, i.e. Ctrl-C)
    AELAB_FAILPOINT=stop:check@12=stop           # SIGSTOP: halt there until the test sends SIGCONT
    AELAB_FAILPOINT=a@2,b                        # several points

so a kill lands between two given writes every time, instead of when a poll happens to catch the
window. Unset (every real run), :func:`point` is one global lookup and returns.
"""

from __future__ import annotations

import os
import signal

ENV = "AELAB_FAILPOINT"
_SIGNALS = {"kill": signal.SIGKILL, "term": signal.SIGTERM, "int": signal.SIGINT, "stop": signal.SIGSTOP}


def _parse(spec: str | None) -> dict[str, tuple[int, signal.Signals]]:
    points: dict[str, tuple[int, signal.Signals]] = {}
    for item in (spec or "").split(","):
        item = item.strip()
        if not item:
            continue
        where, _, action = item.partition("=")
        name, _, nth = where.partition("@")
        points[name] = (int(nth) if nth else 1, _SIGNALS[action or "kill"])
    return points


_POINTS = _parse(os.environ.get(ENV))
_PASSED: dict[str, int] = {}


def point(name: str) -> None:
    """Pass the fail point ``name``: signal this process if ``AELAB_FAILPOINT`` asks for it here."""
    if not _POINTS or name not in _POINTS:
        return
    _PASSED[name] = _PASSED.get(name, 0) + 1
    nth, sig = _POINTS[name]
    if _PASSED[name] == nth:
        os.kill(os.getpid(), sig)


__all__ = ["ENV", "point"]
