"""A config key, declared once: its default, its doc, its choices or range, and what it is to a run.

Every field of the config dataclasses is made with :func:`key`; everything else about the key is
read from that one declaration:

* :func:`check_fields` — the type, the choices or range of every key of a group (one
  :class:`ConfigError` naming the key), so no group writes a range check of its own;
* the TensorBoard/MLflow HPARAMS columns (``hparam=``), ``aelab-train --help``'s key list and the
  configuration reference (:mod:`aelab.config.reference`);
* ``missing=``: the value a run recorded without this key trained with, so an older run is read
  as the run it was (and a recorded config that lacks a key without ``missing=`` is refused);
* ``role``: ``run`` keys define the run (they are fingerprinted and fixed on resume); ``where``
  keys say where and how it runs (taken from the command line on resume); ``report`` keys say how
  it reports (they may differ between two attempts at one run).

Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable, Collection, Iterator
from dataclasses import MISSING, dataclass
from typing import Any, Union

from aelab.errors import ConfigError

INT64_MAX = 2**63 - 1  # the largest integer a key may hold unless it says otherwise (torch's int64)
SEED_MAX = 2**64 - 1  # torch.manual_seed's range
ROLES = ("run", "where", "report")
_NO_DEFAULT = object()


@dataclass(frozen=True)
class Spec:
    """What :func:`key` records about a field (in ``field.metadata["aelab"]``)."""

    doc: str
    choices: Collection[Any] | None = None  # a tuple, or a Registry (its names)
    low: float | None = None  # value >= low
    above: float | None = None  # value > above
    high: float | None = None  # value <= high
    below: float | None = None  # value < below
    hparam: str | None = None  # the HPARAMS column that shows it
    hparam_none: str | None = None  # what the column shows for None (e.g. data.limit: "all")
    missing: Any = _NO_DEFAULT  # what a recorded config without the key trained with
    role: str = "run"
    help: bool = False  # listed in aelab-train --help

    def names(self) -> list[Any] | None:
        return None if self.choices is None else list(self.choices)

    @property
    def has_missing(self) -> bool:
        return self.missing is not _NO_DEFAULT

    def bounds(self) -> str:
        """The range in words: ``> 0``, ``>= 1 and <= 1000``."""
        parts = [f"{op} {_num(v)}" for op, v in ((">=", self.low), (">", self.above)) if v is not None]
        parts += [f"{op} {_num(v)}" for op, v in (("<=", self.high), ("<", self.below)) if v is not None]
        return " and ".join(parts)


def key(
    default: Any = _NO_DEFAULT,
    doc: str = "",
    *,
    factory: Callable[[], Any] | None = None,
    choices: Collection[Any] | None = None,
    low: float | None = None,
    above: float | None = None,
    high: float | None = None,
    below: float | None = None,
    hparam: str | None = None,
    hparam_none: str | None = None,
    missing: Any = _NO_DEFAULT,
    role: str = "run",
    help: bool = False,
) -> Any:
    """A dataclass field with its doc, default, choices or range (see the module doc)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, not {role!r}")
    spec = Spec(doc, choices, low, above, high, below, hparam, hparam_none, missing, role, help)
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata={"aelab": spec})
    if default is _NO_DEFAULT:
        return dataclasses.field(metadata={"aelab": spec})
    return dataclasses.field(default=default, metadata={"aelab": spec})


def spec_of(field: dataclasses.Field) -> Spec:
    spec = field.metadata.get("aelab")
    if not isinstance(spec, Spec):
        raise TypeError(f"config field {field.name} is not declared with aelab.keys.key()")
    return spec


def fields_of(cls_or_obj: Any) -> Iterator[tuple[dataclasses.Field, Spec, Any]]:
    """(field, its Spec, its resolved type) of every field of a config dataclass."""
    cls = cls_or_obj if isinstance(cls_or_obj, type) else type(cls_or_obj)
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        yield field, spec_of(field), hints[field.name]


def default_of(field: dataclasses.Field) -> Any:
    if field.default is not MISSING:
        return field.default
    if field.default_factory is not MISSING:
        return field.default_factory()
    return None


def _num(v: float) -> str:
    return str(int(v)) if isinstance(v, int) or float(v).is_integer() else f"{v:g}"


def _optional(tp: Any) -> tuple[Any, bool]:
    """(the type inside Optional[...], whether None is allowed)."""
    if typing.get_origin(tp) in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0], True
    return tp, False


def check_value(name: str, value: Any, spec: Spec, tp: Any) -> None:
    """One key's value against its declared type, choices and range."""
    tp, nullable = _optional(tp)
    if value is None:
        if nullable:
            return
        raise ConfigError(f"{name}=null is not valid: {name} needs a value")
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name}={value} is not valid: {name} is true or false")
    elif tp is int:
        _check_int(name, value, spec)
    elif tp is float:
        _check_float(name, value, spec)
    elif tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{name}={value} is not valid: {name} is a name, not {type(value).__name__}")
    elif typing.get_origin(tp) is list:
        if not isinstance(value, list):
            raise ConfigError(f"{name}={value} is not valid: {name} is a list")
        (item,) = typing.get_args(tp)
        for v in value:
            if spec.choices is None:  # a range: name the whole list, model.hidden=[100, 0]
                try:
                    check_value(name, v, spec, item)
                except ConfigError as err:
                    reason = str(err).split(": ", 1)[-1].replace(f"{name} must be", "every item must be")
                    raise ConfigError(f"{name}={list(value)} is out of range: {reason}") from None
            else:  # a choice: name the item, logging.loggers=wandb
                check_value(name, v, spec, item)
        return
    names = spec.names()
    if names is not None and value not in names:
        raise ConfigError(f"{name}={value} is not valid; choose one of: {', '.join(map(str, names))}")


def _check_int(name: str, value: Any, spec: Spec) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name}={value} is not valid: {name} is an integer")
    _check_range(name, value, spec, INT64_MAX)


def _check_float(name: str, value: Any, spec: Spec) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name}={value} is not valid: {name} is a number")
    if not math.isfinite(value):
        raise ConfigError(f"{name}={value} is not valid: {name} must be a finite number")
    _check_range(name, value, spec, None)


def _check_range(name: str, value: float, spec: Spec, ceiling: float | None) -> None:
    too_low = (spec.low is not None and value < spec.low) or (spec.above is not None and value <= spec.above)
    too_high = (spec.high is not None and value > spec.high) or (spec.below is not None and value >= spec.below)
    if spec.high is None and spec.below is None and ceiling is not None and value > ceiling:
        raise ConfigError(f"{name}={value} is out of range: {name} must be <= {_num(ceiling)}")
    if too_low or too_high:
        raise ConfigError(f"{name}={value} is out of range: {name} must be {spec.bounds()}")


def check_fields(config: Any, prefix: str) -> None:
    """Every key of the config dataclass ``config`` against its declaration; ``prefix`` names the
    group (``"optimizer."``, or ``""`` for the top level). Nested groups are checked by their own call."""
    for field, spec, tp in fields_of(config):
        value = getattr(config, field.name)
        if dataclasses.is_dataclass(value) or tp is Any:
            continue
        check_value(f"{prefix}{field.name}", value, spec, tp)


__all__ = [
    "INT64_MAX",
    "ROLES",
    "SEED_MAX",
    "Spec",
    "check_fields",
    "check_value",
    "default_of",
    "fields_of",
    "key",
    "spec_of",
]
