"""Autoencoder kinds by name (``ae=plain|denoising|sparse|contractive|vae``): what a network is
trained as, orthogonal to the network (``model=mlp|conv``).

A kind is a folder here: ``<kind>/config.py`` (its keys, an :class:`~aelab.ae.config.AEConfig`,
exported as ``CONFIG``) and ``<kind>/kind.py`` (its :class:`~aelab.ae.base.Kind`, exported as
``KIND``), plus ``conf/ae/<kind>.yaml``. The names come from the folders; a kind's modules are
imported when it is used, and its config module never imports torch.
"""

from __future__ import annotations

from typing import Any

from aelab.ae.config import KIND_NAMES
from aelab.registry import Registry

KIND_CONFIGS: Registry[Any] = Registry("ae", "aelab.ae", "CONFIG", module="config", order=KIND_NAMES.order)
KINDS: Registry[Any] = Registry("ae", "aelab.ae", "KIND", module="kind", order=KIND_NAMES.order)

__all__ = ["KINDS", "KIND_CONFIGS"]
