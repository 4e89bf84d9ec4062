"""Which config a run continues with: its own recorded one, with the keys of this attempt where they
may differ. Only ``where`` keys (where and how it runs) and, typed on the command line, ``report``
keys (how it reports) come from now; any other typed value that differs from the run's is refused,
since the checkpoint could not honour it — also beside ``resume=`` of a completed run, where a
typed change would otherwise be silently ignored."""

from __future__ import annotations

import copy
from typing import Any

from aelab.config.convert import lookup, override_key, to_config, to_dict
from aelab.config.saved import keys_with_role
from aelab.config.schema import Config
from aelab.errors import ConfigError


def _is(key: str, prefixes: tuple[str, ...]) -> bool:
    return any(key == p or key.startswith(p + ".") for p in prefixes)


def _assign(values: dict[str, Any], key: str, value: Any) -> None:
    *parents, last = key.split(".")
    for part in parents:
        values = values.setdefault(part, {})
    values[last] = value


def typed_override_keys() -> list[str] | None:
    """The keys of the overrides typed on the command line (None outside Hydra)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    keys = [override_key(o) for o in HydraConfig.get().overrides.task]
    return [k for k in keys if not k.startswith("hydra")]


def refuse_changes(config: Config, saved: dict[str, Any], what: str = "resume") -> None:
    """A ConfigError if a key typed now (outside Hydra: any model key) differs from the run's."""
    now = to_dict(config)
    where, report = keys_with_role("where"), keys_with_role("report")
    typed = typed_override_keys()
    keys = [k for k in typed if not _is(k, where)] if typed is not None else [f"model.{k}" for k in now["model"]]
    diffs = [
        f"{k}: checkpoint {lookup(saved, k)!r} vs now {lookup(now, k)!r}"
        for k in keys
        if not _is(k, report) and lookup(saved, k) != lookup(now, k)
    ]
    if diffs:
        raise ConfigError(f"cannot {what} with a different architecture or settings: " + "; ".join(diffs))


def resumed_config(config: Config, saved: dict[str, Any]) -> Config:
    """The run's own config with this attempt's ``where`` keys and typed ``report`` keys."""
    refuse_changes(config, saved)
    now = to_dict(config)
    typed = typed_override_keys() or []
    report = keys_with_role("report")
    merged = copy.deepcopy(saved)
    for key in [*keys_with_role("where"), *[k for k in typed if _is(k, report)]]:
        _assign(merged, key, lookup(now, key))
    return to_config(merged)


__all__ = ["refuse_changes", "resumed_config", "typed_override_keys"]
