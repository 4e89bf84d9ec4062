"""A config as a run records it, read back and compared.

* :func:`complete_saved` — a recorded config (checkpoint, ``.hydra/config.yaml``, metrics.json) with
  every key the code needs. A key the record lacks takes the value its declaration's ``missing=``
  says a run without it trained with (the compatibility table: :func:`compatibility`); a ``where``
  or ``report`` key takes its default (it does not change what the run computes); any other
  missing key is refused in one line naming it, never filled with today's default.
* :func:`fingerprint`, :func:`differences` — what makes two runs the same run: the ``run`` keys,
  less any key at its ``missing=`` value (so a run recorded before a key existed is the run that
  key's value gives).
* :func:`keys_with_role` — the dotted keys of each role (``where``: taken from the command line on
  resume; ``report``: may differ between two attempts at one run).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from collections.abc import Iterator
from typing import Any

from aelab.ae import KIND_CONFIGS
from aelab.config.schema import Config
from aelab.errors import ConfigError
from aelab.keys import Spec, default_of, fields_of
from aelab.models import FAMILY_CONFIGS


def _group_class(name: str, tp: Any, values: Any) -> type | None:
    """The dataclass of a nested group: a fixed group's own, or the family's / kind's it names."""
    if dataclasses.is_dataclass(tp):
        return tp  # type: ignore[return-value]
    if not isinstance(values, dict):
        return None
    if name == "model" and values.get("family") in FAMILY_CONFIGS:
        return FAMILY_CONFIGS[values["family"]]
    if name == "ae" and values.get("name") in KIND_CONFIGS:
        return KIND_CONFIGS[values["name"]]
    return None


def walk(values: dict[str, Any], cls: type = Config, prefix: str = "") -> Iterator[tuple[str, Spec, Any, bool]]:
    """(dotted key, its Spec, its value, whether it is a group) for every key of ``values`` the schema
    declares, groups before their keys."""
    for field, spec, tp in fields_of(cls):
        name = prefix + field.name
        value = values.get(field.name) if isinstance(values, dict) else None
        group = _group_class(field.name, tp, value)
        yield name, spec, value, group is not None
        if group is not None and isinstance(value, dict):
            yield from walk(value, group, name + ".")


def _complete(values: dict[str, Any], cls: type, prefix: str, role: str, inert: bool) -> None:
    for field, spec, tp in fields_of(cls):
        name, where = prefix + field.name, spec.role if spec.role != "run" else role
        if field.name not in values:
            if spec.has_missing:
                values[field.name] = copy.deepcopy(spec.missing)
            elif where != "run" or inert:  # where/how it runs, or a key of a group that was inert
                values[field.name] = _plain_default(field)
            else:
                raise ConfigError(
                    f"the run's recorded config has no {name}: it was recorded by another version of aelab, and "
                    f"which {name} it trained with is unknown; start a new run (or resume it with that version)"
                )
            inert_group = True
        else:
            inert_group = inert
        group = _group_class(field.name, tp, values[field.name])
        if group is not None:
            _complete(values[field.name], group, name + ".", where, inert_group)


def _plain_default(field: dataclasses.Field) -> Any:
    value = default_of(field)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return copy.deepcopy(value)


def complete_saved(values: dict[str, Any]) -> dict[str, Any]:
    """A recorded config with every key filled in as the run trained, or a ConfigError naming the
    first key whose value is unknown (see the module doc). Returns a new dict."""
    values = json.loads(json.dumps(values, default=str))
    if not isinstance(values, dict) or not isinstance(values.get("model"), dict):
        raise ConfigError("the run's recorded config has no model group")
    _complete(values, Config, "", "run", False)
    return values


def compatibility() -> list[tuple[str, Any]]:
    """The compatibility table: (key, the value a run recorded without it trained with), from the
    declarations of every family and kind."""
    classes: list[tuple[str, type]] = [("", Config)]
    classes += [("model.", FAMILY_CONFIGS[n]) for n in FAMILY_CONFIGS]
    classes += [("ae.", KIND_CONFIGS[n]) for n in KIND_CONFIGS]
    rows: dict[str, Any] = {}
    for prefix, cls in classes:
        rows.update(_missing_values(cls, prefix))
    return sorted(rows.items())


def _missing_values(cls: type, prefix: str) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for field, spec, tp in fields_of(cls):
        if spec.has_missing:
            rows[prefix + field.name] = spec.missing
        if dataclasses.is_dataclass(tp):
            rows.update(_missing_values(tp, f"{prefix}{field.name}."))  # type: ignore[arg-type]
    return rows


def keys_with_role(role: str) -> tuple[str, ...]:
    """The dotted keys declared with ``role`` (a whole group where the group is), in schema order."""
    found: list[str] = []
    for name, spec, _, _ in walk(_skeleton()):
        if spec.role == role and not _is_under(name, tuple(found)):
            found.append(name)
    return tuple(found)


def volatile() -> tuple[str, ...]:
    """The keys that may differ between two attempts at one run: ``where`` and ``report`` keys."""
    return keys_with_role("where") + keys_with_role("report")


def _skeleton() -> dict[str, Any]:
    """Every fixed group present (empty), for walking the schema without a config."""
    return {f.name: {} for f in dataclasses.fields(Config) if dataclasses.is_dataclass(default_of(f))}


def _is_under(key: str, prefixes: tuple[str, ...]) -> bool:
    return any(key == p or key.startswith(p + ".") for p in prefixes)


def stable(values: dict[str, Any], drop_missing: bool = True) -> dict[str, Any]:
    """The ``run`` keys of a config as ``{dotted key: value}``, less (``drop_missing``) those at their
    ``missing=`` value."""
    leaves: dict[str, Any] = {}
    dropped: list[str] = []
    for name, spec, value, is_group in walk(values):
        if _is_under(name, tuple(dropped)):
            continue
        if spec.role != "run" or (drop_missing and spec.has_missing and _at(value, spec.missing)):
            dropped.append(name)
        elif not is_group:
            leaves[name] = value
    return leaves


def _at(value: Any, missing: Any) -> bool:
    """``value`` is the ``missing=`` value: absent, equal, or for a group, equal on the keys it lists."""
    if value is None:
        return True
    if isinstance(missing, dict):
        return isinstance(value, dict) and all(value.get(k) == v for k, v in missing.items())
    return bool(value == missing)


def _plain(values: Any) -> dict[str, Any]:
    return dataclasses.asdict(values) if dataclasses.is_dataclass(values) else values  # type: ignore[arg-type]


def fingerprint(values: Any) -> str:
    """SHA-256 of the run-defining keys (:func:`stable`) of a Config or its plain values: equal for
    two attempts at the same run."""
    values = _plain(values)
    return hashlib.sha256(json.dumps(stable(values), sort_keys=True, default=str).encode()).hexdigest()


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """``key: old there vs new now`` for every run-defining key whose value differs (both complete)."""
    a, b = stable(_plain(old), drop_missing=False), stable(_plain(new), drop_missing=False)
    return [f"{k}: {a.get(k)!r} there vs {b.get(k)!r} now" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


__all__ = [
    "compatibility",
    "complete_saved",
    "differences",
    "fingerprint",
    "keys_with_role",
    "stable",
    "volatile",
    "walk",
]
