"""Autoencoder kinds by name (``ae=plain|denoising|sparse|contractive|vae``): what a network is
trained as, orthogonal to the network (``model=mlp|conv``).

A kind is one module here holding its config dataclass (an :class:`AEConfig`) and its
:class:`Kind`, registered with :func:`register`, plus ``conf/ae/<name>.yaml``. The modules are found
at import; :func:`make_kind` builds whichever kind a config names.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aelab.ae.base import AEConfig, Kind, KindStats
from aelab.errors import ConfigError


@dataclass(frozen=True)
class KindEntry:
    name: str
    config: type[AEConfig]
    kind: type[Kind]


KINDS: dict[str, KindEntry] = {}
K = TypeVar("K", bound=type[Kind])


def register(name: str, config: type[AEConfig]) -> Callable[[K], K]:
    """Class decorator: ``@register("denoising", DenoisingConfig)`` makes ``ae=denoising`` build it."""

    def add(kind: K) -> K:
        kind.name = name
        KINDS[name] = KindEntry(name, config, kind)
        return kind

    return add


def _discover() -> None:
    for module in pkgutil.iter_modules(__path__):
        if module.name != "base":
            importlib.import_module(f"{__name__}.{module.name}")


def entry(name: str) -> KindEntry:
    if name not in KINDS:
        raise ConfigError(f"ae={name} is not valid; choose one of: {', '.join(KINDS)}")
    return KINDS[name]


def ae_config(values: dict[str, Any] | AEConfig | None) -> AEConfig:
    """The typed ``ae`` config (None: plain, as every run before the kinds existed)."""
    if isinstance(values, AEConfig):
        return values
    values = dict(values or {"name": "plain"})
    return entry(str(values.get("name", "plain"))).config(**values)


def make_kind(config: AEConfig | dict[str, Any] | None) -> Kind:
    typed = ae_config(config)
    return entry(typed.name).kind(typed)


_discover()

__all__ = ["KINDS", "AEConfig", "Kind", "KindEntry", "KindStats", "ae_config", "entry", "make_kind", "register"]
