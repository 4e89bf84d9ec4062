"""A composed or recorded config as the typed :class:`~aelab.config.schema.Config`, and back.

* :func:`to_config` — a composed DictConfig (resolved here) or a plain dict (a recorded config:
  its strings are taken literally, never interpolated) → Config; an unknown key is refused, naming
  it, with the closest valid key when there is one.
* :func:`to_dict`, :func:`lookup` — plain values, and one of them by dotted key.
* :func:`override_key`, :func:`merge_overrides` — command-line overrides by the key they set.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import typing
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from aelab.ae import KIND_CONFIGS
from aelab.config.schema import GROUPS, Config
from aelab.errors import ConfigError
from aelab.models import FAMILY_CONFIGS


def _build(cls: type, values: Any, prefix: str) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'the config'} must be a mapping, got {values!r}")
    names = [f.name for f in dataclasses.fields(cls)]
    for key in values:
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f" (did you mean {prefix}{close[0]}?)" if close else f"; valid keys: {', '.join(names)}"
            raise ConfigError(f"unknown key {prefix}{key}{hint}")
    hints = typing.get_type_hints(cls)
    groups = {  # a nested group (logging.mlflow): its own dataclass, its keys checked the same way
        name: _build(hints[name], value, f"{prefix}{name}.")
        for name, value in values.items()
        if dataclasses.is_dataclass(hints[name]) and isinstance(value, dict)
    }
    return cls(**{**values, **groups})


def plain(cfg: DictConfig | dict[str, Any]) -> dict[str, Any]:
    """Plain values of a composed config (interpolations resolved) or a deep copy of a dict's."""
    if isinstance(cfg, DictConfig):
        try:
            values = OmegaConf.to_container(cfg, resolve=True)
        except OmegaConfBaseException as err:
            key = getattr(err, "full_key", None)
            raise ConfigError(f"{key + ': ' if key else ''}{str(err).splitlines()[0]}") from None
    else:
        values = json.loads(json.dumps(cfg, default=str))
    if not isinstance(values, dict):
        raise ConfigError("the config must be a mapping")
    return dict(values)


def to_config(cfg: DictConfig | dict[str, Any]) -> Config:
    """The typed config; the model and ae groups by the family and kind they name."""
    values = plain(cfg)
    model = values.pop("model", None)
    if not isinstance(model, dict):
        raise ConfigError("the config has no model group (model=mlp or model=conv)")
    ae = values.pop("ae", None)
    if not isinstance(ae, dict):
        raise ConfigError(f"the config has no ae group (ae=plain or another kind), got {ae!r}")
    model_cls = FAMILY_CONFIGS.choose("model", model.get("family"))
    ae_cls = KIND_CONFIGS.choose("ae", ae.get("name"))
    groups = {name: _build(cls, values.pop(name, {}) or {}, f"{name}.") for name, cls in GROUPS.items()}
    typed = {"model": _build(model_cls, model, "model."), "ae": _build(ae_cls, ae, "ae."), **groups}
    return _build(Config, {**values, **typed}, "")


def to_dict(config: Config) -> dict[str, Any]:
    return dataclasses.asdict(config)


def lookup(values: dict[str, Any], key: str) -> Any:
    """``values``' value at the dotted ``key`` (None where there is none)."""
    node: Any = values
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def override_key(override: str) -> str:
    """``+model.width=8`` → ``model.width``: the key a command-line override sets."""
    return override.split("=", 1)[0].lstrip("+~")


def merge_overrides(*groups: Any) -> list[str]:
    """Overrides in order, a later value of a key replacing an earlier one (Hydra refuses a key twice)."""
    merged: dict[str, str] = {}
    for group in groups:
        for item in group:
            merged.pop(override_key(item), None)
            merged[override_key(item)] = item
    return list(merged.values())


__all__ = ["lookup", "merge_overrides", "override_key", "plain", "to_config", "to_dict"]
