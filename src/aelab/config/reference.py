"""The configuration reference, generated from the keys' declarations: every key with its default,
its choices or range, what it means and where it applies. ``aelab-train --help`` lists it
(:func:`help_lines`) and the documentation site's ``reference/config.md`` is :func:`markdown`
(generated when the site is built, by ``docs/hooks/reference.py``; ``tests/test_docs.py`` checks that
it names every key). Nothing here imports torch."""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aelab.ae import KIND_CONFIGS
from aelab.ae.config import AEConfig
from aelab.config.schema import Config
from aelab.keys import Spec, default_of, fields_of
from aelab.models import FAMILY_CONFIGS
from aelab.models.config import ModelConfig

if TYPE_CHECKING:
    from importlib.abc import Traversable  # importlib.resources.abc from Python 3.11


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
    """``str``, ``list[int]``; an Optional type as ``str or null`` (the YAML spelling of None)."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and len(args) == 1:
        return f"{_type_name(args[0])} or null"
    return str(tp).replace("typing.", "") if typing.get_args(tp) else getattr(tp, "__name__", str(tp))


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
    """Text for a Markdown table cell: a ``|`` would end the cell, a ``<`` start an HTML tag."""
    return text.replace("|", "\\|").replace("<", "&lt;")


# One sentence per group of keys: what the group is and how its preset files (GROUP=OPTION) relate
# to its keys. The keys themselves come from their declarations.
GROUPS = {
    "top level": "Keys of the run as a whole; `activation` and `depth` are also the model's.",
    "pretrain": "`pretrain=layerwise` trains each encoder layer as a shallow autoencoder before the whole net.",
    "data": "`data=<name>` picks the dataset; its images are read from `data.root`.",
    "optimizer": "`optimizer=adam|sgd` picks the optimizer; the keys set its hyper-parameters and schedule.",
    "loss": "`loss=mse|bce` picks the reconstruction loss; every run reports both, and the squared error.",
    "trainer": "The training loop: epochs, batch sizes, precision and the CPU/GPU fast paths.",
    "logging": "`logging=default|full|off` picks a preset; the keys switch each dashboard part on or off.",
    "model": "`model=<family>` picks the network; the keys of one family are refused on another.",
    "ae": "`ae=<kind>` picks what the network is trained as; a kind's keys are refused on another kind.",
}


def _key_table(rows_: list[Row]) -> list[str]:
    """One row a key, with the column that shows it in the dashboards' HPARAMS table."""
    out = ["| key | default | values | meaning | HPARAMS |", "|---|---|---|---|---|"]
    for row in rows_:
        values = _cell(row.values) if row.values else _cell(row.type)
        column = f"`{row.spec.hparam}`" if row.spec.hparam else ""
        out.append(f"| `{row.key}` | `{_cell(_show(row.default))}` | {values} | {_cell(row.doc)} | {column} |")
    return out


def _group_sections() -> list[str]:
    """A section per group; in model and ae, the keys every family or kind shares first, then a
    sub-section per family or kind with its own keys."""
    by_group: dict[str, list[Row]] = {}
    for row in rows():
        by_group.setdefault(row.key.split(".")[0] if "." in row.key else "top level", []).append(row)
    out: list[str] = []
    for group, group_rows in by_group.items():
        out += ["", f"## {group}", "", GROUPS.get(group, ""), ""]
        shared = [row for row in group_rows if not row.applies]
        out += _key_table(shared)
        applies = dict.fromkeys(row.applies for row in group_rows if row.applies)
        for where in applies:
            out += ["", f"### {where}", "", f"These keys exist only with `{where}`.", ""]
            out += _key_table([row for row in group_rows if row.applies == where])
    return out


_SENTENCE_END = re.compile(r"(?<!\bal\.)(?<=[.?])\s+(?=[A-Z0-9])")  # "Bengio et al. 2007" goes on


def _preset_description(text: str) -> str:
    """The first sentence of a preset file's leading comment (Hydra's ``# @package`` line aside)."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        if not line.startswith("# @package"):
            lines.append(line.lstrip("#").strip())
    return _SENTENCE_END.split(" ".join(lines), maxsplit=1)[0].rstrip(".")


def _preset_table(root: Traversable) -> list[str]:
    """Every option of every config group in the config folder ``root``, with its file's leading comment."""
    out = ["| group | option | what it sets |", "|---|---|---|"]
    for group in sorted((p for p in root.iterdir() if p.is_dir() and p.name != "__pycache__"), key=lambda p: p.name):
        if group.name == "hydra":
            continue
        for option in sorted((f for f in group.iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name):
            what = _preset_description(option.read_text(encoding="utf-8"))
            out.append(f"| `{group.name}` | `{option.name[: -len('.yaml')]}` | {_cell(what)} |")
    return out


def _show_recorded(value: Any) -> str:
    if isinstance(value, dict):  # a whole group the record lacks
        return ", ".join(f"{k}={_show(v)}" for k, v in value.items())
    return _show(value)


def markdown(conf: Traversable | None = None) -> str:
    """The configuration reference page: a table per group, the presets of the config folder ``conf``
    (the shipped ``aelab.conf``: ``importlib.resources.files(aelab.config.CONF_PACKAGE)``; None: no
    presets section), the compatibility table."""
    from aelab.config.saved import compatibility

    out = [
        "# Configuration reference",
        "",
        "Every key of `aelab-train KEY=VALUE` (and of `aelab.compose([...])`), generated from the",
        "declarations in `src/aelab/config/schema.py`, `src/aelab/models/<family>/config.py` and",
        "`src/aelab/ae/<kind>/config.py` when the site is built. `aelab-train --help` prints the same list.",
        "A key that is not declared is refused, also when added with `+`; so is a value outside its",
        "values, in one line naming the key.",
        "",
        "The last column names the key's column in the dashboards' HPARAMS table.",
    ]
    out += _group_sections()
    if conf is not None:
        out += [
            "",
            "## Presets: GROUP=OPTION",
            "",
            "A group's option is a file `conf/<group>/<option>.yaml` that sets several keys at once; keys",
            "given on the command line override it. `experiment=` presets set keys of several groups.",
            "",
        ]
        out += _preset_table(conf)
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
    out += [f"| `{key}` | `{_cell(_show_recorded(value))}` |" for key, value in compatibility()]
    return "\n".join(out) + "\n"


__all__ = ["Row", "help_lines", "markdown", "rows"]
