"""Autoencoders built from the lecture's layer, each with a native-autograd twin (``impl``)."""

from __future__ import annotations

from typing import Any

from aelab.models.base import Autoencoder
from aelab.models.conv import ConvAutoencoder
from aelab.models.init import INITS
from aelab.models.layers import IMPLS, LectureConv2d, TorchConv2d, TorchLinear, unfolded_conv2d
from aelab.models.mlp import MLPAutoencoder
from aelab.models.output import AEOutput

FAMILIES = {"mlp": MLPAutoencoder, "conv": ConvAutoencoder}


def build_model(family: str, **kwargs: Any) -> Autoencoder:
    """``build_model("mlp", depth=8, activation="relu", impl="lecture", ...)``."""
    if family not in FAMILIES:
        raise ValueError(f"unknown model family {family!r}; model must be one of: {', '.join(FAMILIES)}")
    return FAMILIES[family](**kwargs)


__all__ = [
    "AEOutput",
    "Autoencoder",
    "ConvAutoencoder",
    "FAMILIES",
    "IMPLS",
    "INITS",
    "LectureConv2d",
    "MLPAutoencoder",
    "TorchConv2d",
    "TorchLinear",
    "build_model",
    "unfolded_conv2d",
]
