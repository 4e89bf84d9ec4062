"""``aelab-train``'s start: the config is being composed, nothing of aelab's has run yet.

* :func:`help_text` — ``--help``, the template of conf/hydra/help/aelab.yaml filled with its
  resolvers, without composing a config;
* :class:`StartupStderr` and :func:`one_line` — Hydra's multi-line composition errors as one
  ``Error:`` line: an unknown key with the closest declared key, a value of the wrong type named
  with the key's type.
"""

from __future__ import annotations

import difflib
import io
import re
import sys
from typing import Any

from aelab.errors import AelabError


class StartupStderr(io.TextIOBase):
    """stderr while Hydra composes the config: held back, so that a composition error (several
    lines, and advice about HYDRA_FULL_ERROR) can become one ``Error:`` line. The pre-flight
    callback releases it the moment aelab's own code runs; from then on it writes straight through."""

    def __init__(self, real: Any) -> None:
        self.real, self.passing = real, False
        self.held: list[str] = []

    def write(self, text: str) -> int:
        if self.passing:
            return self.real.write(text)
        self.held.append(text)
        return len(text)

    def flush(self) -> None:
        if self.passing:
            self.real.flush()

    def isatty(self) -> bool:
        return self.real.isatty()

    def fileno(self) -> int:
        return self.real.fileno()

    def release(self) -> None:
        if not self.passing:
            self.passing = True
            self.real.write("".join(self.held))
            self.held.clear()


def fail(err: AelabError) -> None:
    """The CLI's answer to a refusal: one line on stderr, the error's exit status."""
    print(f"Error: {err}", file=sys.stderr)
    sys.exit(err.exit_code)


SKIP = (
    "Set the environment variable HYDRA_FULL_ERROR",
    "To append to your config use",
    "object_type=",
    "Config search path:",
    "provider=",
)
TYPES = {"integer": "an integer", "float": "a number", "boolean": "true or false", "bool": "true or false"}


def _declared_keys() -> list[str]:
    """Every key a user may type: the declared keys and the config groups."""
    from aelab.config.reference import rows

    keys = [row.key for row in rows()]
    return keys + sorted({k.split(".")[0] for k in keys if "." in k})


def _unknown(key: str, where: str) -> str:
    declared = _declared_keys()
    if key in declared:  # a key of another family or kind: model=conv model.hidden=[10]
        return f"unknown key {key} ({where} has no key {key.rsplit('.', 1)[-1]!r})"
    close = difflib.get_close_matches(key, declared, n=1, cutoff=0.75)
    return f"unknown key {key} (did you mean {close[0]}?)" if close else f"unknown key {key} ({where} has no such key)"


def one_line(text: str) -> str:
    """Hydra's multi-line composition error as one line, without its debugging advice."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith(SKIP)]
    full_key = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("full_key:")), None)
    lines = [line for line in lines if not line.startswith("full_key:")]
    joined = " ".join(lines)
    unknown = re.search(r"Key '([^']+)' not in '([^']+)'", joined)
    if unknown:
        return _unknown(full_key or unknown.group(1), unknown.group(2))
    typed = re.search(
        r"override ([\w.]+)=\S*?;? Value '([^']*)' (?:.* could not be converted to|is not a valid) (\w+)", joined
    )
    if typed:
        key, value, kind = typed.group(1), typed.group(2), typed.group(3).lower()
        return f"{key}={value} is not valid: {key} is {TYPES.get(kind, kind)}"
    parts: list[str] = []
    for line in lines:  # "Available options in 'model':" then one option per line
        if parts and parts[-1].startswith("Available options") and " " not in line:
            parts[-1] += (" " if parts[-1].endswith(":") else ", ") + line
        else:
            parts.append(line)
    return "; ".join(parts)


STARTUP: list[StartupStderr] = []


def release_stderr() -> None:
    for held in STARTUP:
        held.release()


def help_text() -> str:
    """``aelab-train --help``: conf/hydra/help/aelab.yaml's template, filled with its resolvers. Hydra
    would also list every config group of its own (copying its config repository a hundred times,
    about a second), which the template does not show."""
    import importlib.resources

    from omegaconf import OmegaConf

    from aelab.config.compose import CONF_PACKAGE

    text = (importlib.resources.files(CONF_PACKAGE) / "hydra" / "help" / "aelab.yaml").read_text(encoding="utf-8")
    node = OmegaConf.create({"hydra": {"help": OmegaConf.create(text)}})
    return str(node.hydra.help.template).replace("$$", "$")
