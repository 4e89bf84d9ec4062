"""A network of one family trained as one kind, on one dataset's images: the layer above
:mod:`aelab.models` and :mod:`aelab.ae`, which know nothing of each other.

    build(config)                                   # the model a run trains (config: aelab.Config)
    build_model("mlp", depth=3, width=64)           # a family and its keys, on the default dataset's images
    build_model("conv", ae={"name": "vae"}, shape=(3, 32, 32), channels=8)
"""

from __future__ import annotations

import dataclasses
from typing import Any

from aelab.ae import KIND_CONFIGS, KINDS
from aelab.ae.config import AEConfig
from aelab.config.schema import Config, DataConfig
from aelab.data import image_format
from aelab.keys import default_of
from aelab.models import FAMILIES, FAMILY_CONFIGS
from aelab.models.base import Autoencoder
from aelab.models.config import ModelConfig

_TOP = {f.name: default_of(f) for f in dataclasses.fields(Config) if f.name in ("activation", "depth")}


def model_config(family: str, **keys: Any) -> ModelConfig:
    """The ``model`` config of ``family`` with ``keys`` set; ``activation`` and ``depth`` default to
    the top-level keys' defaults (in a composed config they follow ``activation=`` and ``depth=``)."""
    cls = FAMILY_CONFIGS.choose("model", family)
    return cls(**{**_TOP, **keys})


def ae_config(values: AEConfig | dict[str, Any] | None) -> AEConfig:
    """The typed ``ae`` config: a dict such as ``{"name": "vae", "beta": 1.0}``, or None for plain."""
    if isinstance(values, AEConfig):
        return values
    values = dict(values or {"name": "plain"})
    return KIND_CONFIGS.choose("ae", values.get("name", "plain"))(**values)


def default_shape() -> tuple[int, int, int]:
    """The image shape of the default dataset (``data.name``'s default)."""
    return image_format(DataConfig()).shape


def build_model(
    model: ModelConfig | dict[str, Any] | str,
    ae: AEConfig | dict[str, Any] | None = None,
    shape: tuple[int, int, int] | None = None,
    **keys: Any,
) -> Autoencoder:
    """A freshly initialised network of ``model`` (a family's config, a plain dict of one, or a family
    name with its ``keys``) trained as the kind ``ae``, on images of ``shape`` (C, H, W; default:
    the default dataset's)."""
    if isinstance(model, str):
        model = model_config(model, **keys)
    elif isinstance(model, dict):
        model = model_config(str(model.get("family")), **{k: v for k, v in model.items() if k != "family"})
    network = FAMILIES.choose("model", model.family)(model, shape or default_shape())
    kind_config = ae_config(ae)
    kind = KINDS[kind_config.name](kind_config)
    kind.prepare(network)
    network.kind = kind
    return network


def build(config: Config) -> Autoencoder:
    """The network a run of ``config`` trains: its family, its kind, the shape of its images
    (:func:`aelab.data.image_format`: the dataset's, under its ``data.*`` keys)."""
    return build_model(config.model, config.ae, image_format(config.data).shape)


__all__ = ["ae_config", "build", "build_model", "default_shape", "model_config"]
