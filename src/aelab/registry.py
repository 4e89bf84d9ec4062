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
from collections.abc import Collection, Iterator, Mapping
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


class Names(Collection[str]):
    """The names of one kind of entry, read from a folder of aelab (nothing is imported).

    The modules of ``package`` not starting with ``_`` are the names; with ``module``, the
    subpackages that hold ``<module>.py`` are (a model family is a folder with ``config.py`` and
    ``model.py``). ``order``: names listed first, in this order; the rest follow alphabetically. A
    config key's choices can be a ``Names`` where importing the entries would close an import
    circle (a family's config subclasses the config that names the families)."""

    def __init__(self, package: str, module: str | None = None, order: tuple[str, ...] = ()) -> None:
        self.package, self.module, self.order = package, module, order

    def names(self) -> list[str]:
        folder = folder_of(self.package)
        if self.module:  # folders holding <module>.py (they need no __init__.py)
            found = {p.name for p in folder.iterdir() if p.is_dir() and (p / f"{self.module}.py").is_file()}
        else:
            found = {p.stem for p in folder.glob("*.py")}
        found = {n for n in found if not n.startswith("_")}
        return [n for n in self.order if n in found] + sorted(found - set(self.order))

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()


class Registry(Mapping[str, T], Generic[T]):
    """The entries named by :class:`Names`, each the attribute ``attr`` of its module (with
    ``module``: of ``<package>.<name>.<module>``). A mapping: iteration lists names, indexing imports."""

    def __init__(self, what: str, package: str, attr: str, module: str | None = None, order: tuple[str, ...] = ()):
        self.what, self.attr = what, attr
        self.listing = Names(package, module, order)
        self._loaded: dict[str, T] = {}

    def names(self) -> list[str]:
        """The entries' names, from the folder's listing (no import)."""
        return self.listing.names()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __contains__(self, name: object) -> bool:
        return name in self.listing

    def __getitem__(self, name: str) -> T:
        if name not in self._loaded:
            if name not in self:
                raise KeyError(name)
            listing = self.listing
            path = f"{listing.package}.{name}" + (f".{listing.module}" if listing.module else "")
            self._loaded[name] = getattr(importlib.import_module(path), self.attr)
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


__all__ = ["Names", "Registry", "folder_of"]
