"""Autoencoder families by name, each a folder here: ``<family>/config.py`` (its keys, a
:class:`~aelab.models.config.ModelConfig`, exported as ``CONFIG``) and ``<family>/model.py`` (the
network, an :class:`~aelab.models.base.Autoencoder` taking that config, exported as ``MODEL``),
plus ``conf/model/<family>.yaml``. The names come from the folders; a family's modules are
imported when it is used, and its config module never imports torch.
"""

from __future__ import annotations

from typing import Any

from aelab.models.config import FAMILY_NAMES
from aelab.registry import Registry

FAMILY_CONFIGS: Registry[Any] = Registry("model", "aelab.models", "CONFIG", module="config", order=FAMILY_NAMES.order)
FAMILIES: Registry[Any] = Registry("model", "aelab.models", "MODEL", module="model", order=FAMILY_NAMES.order)

__all__ = ["FAMILIES", "FAMILY_CONFIGS"]
