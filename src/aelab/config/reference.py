"""The configuration reference, generated from the keys' declarations: every key with its default,
its choices or range, what it means and where it applies. ``aelab-train --help`` lists it
(:func:`help_lines`) and ``docs/reference/config.md`` is :func:`markdown` (written by
``scripts/gen_reference.py``, checked by a test). Nothing here imports torch."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from aelab.ae import KIND_CONFIGS
from aelab.ae.config import AEConfig
from aelab.config.schema import Config
from aelab.keys import Spec, default_of, fields_of
from aelab.models import FAMILY_CONFIGS
from aelab.models.config import ModelConfig


@dataclass(frozen=True)
class Row:
    key: str
    type: str
    default: Any
    values: str  # the choices or the range, in words
    doc: str
    applies: str  # "" (always), "model=conv", "ae=sparse"
    spec: Spec


def _type_name(tp: Any) -> str:
    text = getattr(tp, "__name__", None) or str(tp)
    return str(text).replace("typing.", "").replace("Optional[", "").rstrip("]") if "Optional" in str(tp) else text


def _values(spec: Spec) -> str:
    names = spec.names()
    if names is not None:
        return " | ".join(map(str, names))
    return spec.bounds()


def _rows(cls: type, prefix: str, applies: str, skip: set[str] = frozenset()) -> list[Row]:  # type: ignore[assignment]
    rows = []
    for field, spec, tp in fields_of(cls):
        if field.name in skip:
            continue
        default = default_of(field)
        if dataclasses.is_dataclass(default):
            rows += _rows(type(default), f"{prefix}{field.name}.", applies)
        elif field.name not in ("model", "ae"):
            rows.append(Row(prefix + field.name, _type_name(tp), default, _values(spec), spec.doc, applies, spec))
    return rows


def rows() -> list[Row]:
    """Every key: the top level and fixed groups, the model keys every family shares, each family's
    own, the ae key every kind shares, each kind's own."""
    shared_model = {f.name for f in dataclasses.fields(ModelConfig)}
    shared_ae = {f.name for f in dataclasses.fields(AEConfig)}
    found = _rows(Config, "", "")
    found += _rows(ModelConfig, "model.", "")
    for name in FAMILY_CONFIGS:
        found += _rows(FAMILY_CONFIGS[name], "model.", f"model={name}", shared_model)
    found += _rows(AEConfig, "ae.", "")
    for name in KIND_CONFIGS:
        found += _rows(KIND_CONFIGS[name], "ae.", f"ae={name}", shared_ae)
    return found


def _show(value: Any) -> str:
    if isinstance(value, str) and value.startswith("${oc.env:"):  # ${oc.env:VAR,fallback}
        var, _, fallback = value[len("${oc.env:") : -1].partition(",")
        return f"${var}, else {fallback}"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ",".join(map(str, value)) + "]"
    return str(value)


def help_lines() -> list[str]:
    """One line a key for ``aelab-train --help``: ``key=default  doc (values) [where it applies]``."""
    lines = []
    for row in rows():
        left = f"{row.key}={_show(row.default)}"
        extra = " ".join(
            part
            for part in (f"({row.values})" if row.values else "", f"[{row.applies}]" if row.applies else "")
            if part
        )
        lines.append(f"    {left:38} {row.doc}{' ' + extra if extra else ''}")
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown() -> str:
    """``docs/reference/config.md``: a table per group, then the compatibility table."""
    from aelab.config.saved import compatibility

    out = [
        "# Configuration reference",
        "",
        "Every key of `aelab-train KEY=VALUE`, generated from the declarations in `src/aelab/config/schema.py`,",
        "`src/aelab/models/<family>/config.py` and `src/aelab/ae/<kind>/config.py` (`scripts/gen_reference.py`",
        "writes this page; a test fails when it disagrees with them). `aelab-train --help` prints the same list.",
        "",
    ]
    group = None
    for row in rows():
        head = row.key.split(".")[0] if "." in row.key else "top level"
        if head != group:
            group = head
            out += ["", f"## {group}", "", "| key | default | values | applies to | meaning |", "|---|---|---|---|---|"]
        values = _cell(row.values) if row.values else row.type
        out.append(f"| `{row.key}` | `{_cell(_show(row.default))}` | {values} | {row.applies} | {_cell(row.doc)} |")
    out += [
        "",
        "## Runs recorded without a key",
        "",
        "A run's checkpoint records its whole config. A key the record lacks is read as the value below, the",
        "one such runs trained with; a record that lacks any other key is refused in one line naming it.",
        "",
        "| key | value |",
        "|---|---|",
    ]
    out += [f"| `{key}` | `{_cell(_show(value))}` |" for key, value in compatibility()]
    return "\n".join(out) + "\n"


__all__ = ["Row", "help_lines", "markdown", "rows"]
