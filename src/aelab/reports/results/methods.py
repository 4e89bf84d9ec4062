"""The methods of the results table and how each is trained: an experiment preset
(``conf/experiment/<name>.yaml``) per autoencoder, plus the quick mode's smaller budget."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aelab.config import merge_overrides

CODE_DIM = 30


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


__all__ = ["AE_METHODS", "ALWAYS", "CODE_DIM", "METHODS", "QUICK_TRAIN", "Method", "method_overrides"]
