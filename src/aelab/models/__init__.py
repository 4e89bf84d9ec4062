"""Autoencoder families by name, each built from the lecture's layer with a native-autograd twin.

A family is a folder here holding ``model.py`` (the model, registered with :func:`register`) and
``config.py`` (its config dataclass, a :class:`ModelConfig`), plus ``conf/model/<name>.yaml``. The
folders are found at import; ``build_model(config)`` builds whichever family the config names.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from aelab.errors import ConfigError
from aelab.models.base import AEOutput, Autoencoder, ModelConfig, Size
from aelab.models.init import INITS
from aelab.models.layers import IMPLS, TorchConv2d, TorchLinear


@dataclass(frozen=True)
class Family:
    name: str
    config: type[ModelConfig]
    model: type[Autoencoder]


FAMILIES: dict[str, Family] = {}
M = TypeVar("M", bound=type[Autoencoder])


def register(name: str, config: type[ModelConfig]) -> Callable[[M], M]:
    """Class decorator: ``@register("mlp", MLPConfig)`` makes ``model=mlp`` build this class."""

    def add(model: M) -> M:
        FAMILIES[name] = Family(name, config, model)
        return model

    return add


def _discover() -> None:
    for folder in sorted(Path(__file__).parent.iterdir()):
        if (folder / "model.py").is_file():
            importlib.import_module(f"{__name__}.{folder.name}.model")


_discover()

from aelab.models.conv.model import ConvAutoencoder  # noqa: E402  (registered above)
from aelab.models.mlp.model import MLPAutoencoder  # noqa: E402


def family(name: str) -> Family:
    if name not in FAMILIES:
        raise ConfigError(f"model={name} is not valid; choose one of: {', '.join(FAMILIES)}")
    return FAMILIES[name]


def build_model(config: ModelConfig | dict[str, Any] | str, ae: Any = None, **kwargs: Any) -> Autoencoder:
    """A freshly initialised model: from a ``model`` config (dataclass or plain dict), or from a
    family name and the model's arguments, ``build_model("mlp", depth=8, activation="sigmoid")``.

    ``ae``: the autoencoder kind it is trained as (an ``ae`` config, a dict such as
    ``{"name": "vae", "beta": 1.0}``, or None for plain); see :mod:`aelab.ae`."""
    from aelab.ae import make_kind  # the kinds build on this package

    if isinstance(config, str):
        model = family(config).model(**kwargs)
    else:
        if isinstance(config, dict):
            config = family(config["family"]).config(**config)
        model = family(config.family).model.from_config(config)
    kind = make_kind(ae)
    kind.prepare(model)
    model.kind = kind
    return model


def model_size(config: ModelConfig) -> Size:
    """Parameters and per-example activation floats of the model, computed without building it."""
    return family(config.family).model.size(config)


__all__ = [
    "FAMILIES",
    "IMPLS",
    "INITS",
    "AEOutput",
    "Autoencoder",
    "ConvAutoencoder",
    "Family",
    "MLPAutoencoder",
    "ModelConfig",
    "Size",
    "TorchConv2d",
    "TorchLinear",
    "build_model",
    "family",
    "model_size",
    "register",
]
