"""One small registry for everything chosen by name: activations, model families, autoencoder
kinds, datasets, loggers.

An entry is a module (or a package) in one folder of aelab, named for the entry; the registry
knows the names from the folder alone, without importing anything, and imports an entry's module
only when the entry is asked for. So the command line can list and check every choice without
importing torch, adding an entry is adding one file (or folder), and no statement order is
load-bearing: the registry imports its entries, never the other way round.

    ACTIVATIONS = Registry("activation", "aelab.backprop.activations", "ACTIVATION")
    ACTIVATIONS.names()          # ['elu', 'identity', ...]: a directory listing
    ACTIVATIONS["relu"]          # imports aelab.backprop.activations.relu, returns its ACTIVATION
    ACTIVATIONS.check("activation", "foo")   # ConfigError: activation=foo is not valid; choose one of: ...
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar

from aelab.errors import ConfigError

T = TypeVar("T")
_AELAB = Path(__file__).resolve().parent


def folder_of(package: str) -> Path:
    """The folder of an aelab subpackage, found without importing it (nor its parents)."""
    head, *rest = package.split(".")
    if head != "aelab":
        raise ValueError(f"{package} is not an aelab package")
    return _AELAB.joinpath(*rest)


class Registry(Mapping[str, T], Generic[T]):
    """Entries named by the modules of ``package`` (``packages=True``: by its subpackages), each
    exporting its entry as the attribute ``attr``. A mapping: iteration lists names, indexing imports."""

    def __init__(self, what: str, package: str, attr: str, packages: bool = False, order: tuple[str, ...] = ()):
        self.what, self.package, self.attr, self.packages = what, package, attr, packages
        self.order = order  # names listed first, in this order (the rest follow alphabetically)
        self._loaded: dict[str, T] = {}

    def names(self) -> list[str]:
        """The entries' names, from the folder's listing (no import)."""
        found = {
            m.name
            for m in pkgutil.iter_modules([str(folder_of(self.package))])
            if not m.name.startswith("_") and m.ispkg == self.packages
        }
        return [n for n in self.order if n in found] + sorted(found - set(self.order))

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def __getitem__(self, name: str) -> T:
        if name not in self._loaded:
            if name not in self:
                raise KeyError(name)
            module = importlib.import_module(f"{self.package}.{name}")
            self._loaded[name] = getattr(module, self.attr)
        return self._loaded[name]

    def check(self, key: str, value: Any) -> None:
        """A ConfigError naming ``key`` unless ``value`` is one of the names."""
        if value not in self:
            raise ConfigError(f"{key}={value} is not valid; choose one of: {', '.join(self.names())}")

    def choose(self, key: str, value: Any) -> T:
        """The entry named ``value``, or a ConfigError naming ``key`` and the valid names."""
        self.check(key, value)
        return self[value]

    def __repr__(self) -> str:
        return f"Registry({self.what}: {', '.join(self.names())})"


__all__ = ["Registry", "folder_of"]
