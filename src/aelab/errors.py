"""The errors a user can act on. Each message is one line; the CLI prints ``Error: <message>`` and
exits with the class's ``exit_code``. Anything else is a bug or a crash: its traceback goes to the
run's ``train.log``."""

from __future__ import annotations


class AelabError(Exception):
    """A refusal or a failure the user can act on, described in one line."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))  # one line, whatever the caller built


class ConfigError(AelabError, ValueError):
    """A config value that cannot be used; the message names the key."""


class RunDirError(AelabError):
    """The run (or sweep) directory cannot be used as asked: it holds another run, is locked by a
    running process, or holds nothing to resume."""


class CorruptFileError(AelabError):
    """A file aelab wrote or reads is damaged, truncated, forged or unsafe; the message names it."""


class DataError(AelabError):
    """A dataset is missing, damaged, or could not be downloaded; the message names the folder."""


class DiskFullError(AelabError):
    """No space left on the device holding the named path."""

    exit_code = 1


__all__ = ["AelabError", "ConfigError", "CorruptFileError", "DataError", "DiskFullError", "RunDirError"]
