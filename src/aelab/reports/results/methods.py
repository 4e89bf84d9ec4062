"""The methods of the results tables and how each is trained: an experiment preset
(``conf/experiment/<name>.yaml``) per autoencoder, plus the quick mode's smaller budget.

Three tables: the main one (:data:`METHODS`: PCA, the linear AE, the hinton2006 MLP, the conv AE),
the kinds table (:data:`KINDS` × :data:`NETWORKS`: each ``ae=`` kind on the hinton2006 MLP and the
conv net, at a reduced epoch budget) and the pretraining table (:data:`PRETRAINING`: the logistic
hinton2006 net without and with ``pretrain=layerwise``, next to the ReLU net)."""

from __future__ import annotations

import importlib.resources
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from omegaconf import OmegaConf

from aelab.ae.config import KIND_NAMES
from aelab.config import CONF_PACKAGE, compose, merge_overrides

CODE_DIM = 30
log = logging.getLogger("aelab.results")


def preset_epochs(preset: str) -> int | None:
    """The epochs ``experiment=<preset>`` trains for (None, with a warning, if it does not compose):
    a row shows it where its run was trained for another number."""
    try:
        return int(compose([f"experiment={preset}"]).trainer.epochs)
    except Exception as err:  # never fatal to a row
        log.warning("could not compose experiment=%s: %s", preset, err)
        return None


@dataclass(frozen=True)
class Method:
    """An autoencoder of the table: its preset and label; ``quick`` overrides for the smoke run."""

    name: str
    label: str
    preset: str  # experiment=<preset>
    quick: tuple[str, ...] = ()  # on top of QUICK_TRAIN in quick mode


AE_METHODS: dict[str, Method] = {
    "linear": Method("linear", "Linear AE 784-30-784", "linear_ae"),
    "hinton2006": Method("hinton2006", "MLP AE 784-1000-500-250-30 (hinton2006)", "hinton2006"),
    # quick: a quarter of the channels (the lecture's unfolded convolutions are slow on a CPU)
    "conv": Method("conv", "Conv AE (hinton2006_conv)", "hinton2006_conv", ("model.channels=8",)),
}
METHODS = ("pca", *AE_METHODS, "pixels")  # table order; "pixels" is the P@10 reference
ALWAYS = ("logging=off",)  # every AE trained here: the table needs the checkpoints, not dashboards
QUICK_TRAIN = ("data.limit=5000", "data.eval_limit=500", "trainer.epochs=2")


def method_overrides(method: str, quick: bool, device: str = "auto", extra: Sequence[str] = ()) -> list[str]:
    """The ``aelab-train`` overrides that train ``method`` for the table."""
    m = AE_METHODS[method]
    return merge_overrides(
        [f"experiment={m.preset}"],
        ALWAYS,
        QUICK_TRAIN if quick else (),
        m.quick if quick else (),
        [f"device={device}"],
        extra,
    )


# --- the kinds table ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Network:
    """A network of the kinds table: its preset, the epochs it is trained for there (the presets'
    60/30 epochs × 5 kinds are too long on a CPU) and its quick-mode overrides."""

    name: str
    label: str
    preset: str
    epochs: int
    quick: tuple[str, ...] = ()


NETWORKS: dict[str, Network] = {
    "mlp": Network("mlp", "MLP 784-1000-500-250-30", "hinton2006", 10),
    "conv": Network("conv", "Conv (hinton2006_conv)", "hinton2006_conv", 3, ("model.channels=8",)),
}
KINDS = tuple(KIND_NAMES)  # the ae= config group, in its registry's order


def kind_companions(kind: str) -> tuple[str, ...]:
    """What ``conf/ae/<kind>.yaml`` sets outside ``ae.*``, as overrides (``ae=sparse``: logistic code
    units, ``model.code_activation=sigmoid``). A preset applied after the kind may set it otherwise
    (hinton2006 sets linear code units), so the kinds table gives it back."""
    text = importlib.resources.files(CONF_PACKAGE).joinpath("ae").joinpath(f"{kind}.yaml").read_text()
    if "# @package _global_" not in text:  # the file's keys are the kind's own (ae.*)
        return ()
    values = OmegaConf.to_container(OmegaConf.create(text))
    found: list[str] = []

    def walk(node: Any, prefix: str) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            else:
                found.append(f"{prefix}{key}={str(value).lower() if isinstance(value, bool) else value}")

    walk({k: v for k, v in values.items() if k not in ("defaults", "ae")} if isinstance(values, dict) else {}, "")
    return tuple(found)


KIND_OVERRIDES: dict[str, tuple[str, ...]] = {kind: kind_companions(kind) for kind in KINDS}


def kind_name(network: str, kind: str) -> str:
    """A row's name (its run folder and image): ``mlp_vae``."""
    return f"{network}_{kind}"


def kind_overrides(network: str, kind: str, quick: bool, device: str = "auto", extra: Sequence[str] = ()) -> list[str]:
    """The ``aelab-train`` overrides that train ``kind`` on ``network`` for the kinds table."""
    n = NETWORKS[network]
    return merge_overrides(
        [f"experiment={n.preset}", f"ae={kind}"],
        KIND_OVERRIDES.get(kind, ()),
        ALWAYS,
        [f"trainer.epochs={n.epochs}"],
        QUICK_TRAIN if quick else (),
        n.quick if quick else (),
        [f"device={device}"],
        extra,
    )


# --- the pretraining table -----------------------------------------------------------------------

PRETRAIN_EPOCHS = 20  # end-to-end epochs of every row (the same, so the rows compare)
PRETRAIN_EPOCHS_PER_LAYER = 5  # pretrain=layerwise: epochs of each layer's shallow autoencoder


@dataclass(frozen=True)
class PretrainRow:
    """A row of the pretraining table: its label and the overrides that train it."""

    name: str
    label: str
    overrides: tuple[str, ...]
    activation: str
    pretraining: str


PRETRAINING: dict[str, PretrainRow] = {
    "sigmoid": PretrainRow(
        "sigmoid",
        "Logistic units, no pretraining (hinton2006_sigmoid)",
        ("experiment=hinton2006_sigmoid", "pretrain=none"),
        "sigmoid",
        "none",
    ),
    "sigmoid_layerwise": PretrainRow(
        "sigmoid_layerwise",
        "Logistic units, layer-wise pretrained (hinton2006_sigmoid pretrain=layerwise)",
        (
            "experiment=hinton2006_sigmoid",
            "pretrain=layerwise",
            f"pretrain.epochs_per_layer={PRETRAIN_EPOCHS_PER_LAYER}",
        ),
        "sigmoid",
        "layerwise",
    ),
    "relu": PretrainRow("relu", "ReLU units, no pretraining (hinton2006)", ("experiment=hinton2006",), "relu", "none"),
}
QUICK_PRETRAIN = ("pretrain.epochs_per_layer=1",)  # quick mode, on top of QUICK_TRAIN (where layerwise)


def pretrain_overrides(name: str, quick: bool, device: str = "auto", extra: Sequence[str] = ()) -> list[str]:
    """The ``aelab-train`` overrides that train the pretraining table's row ``name``."""
    row = PRETRAINING[name]
    return merge_overrides(
        row.overrides,
        ALWAYS,
        [f"trainer.epochs={PRETRAIN_EPOCHS}"],
        QUICK_TRAIN if quick else (),
        QUICK_PRETRAIN if quick and row.pretraining == "layerwise" else (),
        [f"device={device}"],
        extra,
    )


__all__ = [
    "AE_METHODS",
    "ALWAYS",
    "CODE_DIM",
    "KINDS",
    "KIND_OVERRIDES",
    "METHODS",
    "NETWORKS",
    "PRETRAINING",
    "PRETRAIN_EPOCHS",
    "PRETRAIN_EPOCHS_PER_LAYER",
    "QUICK_PRETRAIN",
    "QUICK_TRAIN",
    "Method",
    "Network",
    "PretrainRow",
    "kind_name",
    "kind_overrides",
    "method_overrides",
    "preset_epochs",
    "pretrain_overrides",
]
