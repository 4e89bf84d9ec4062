"""TensorBoard's CUSTOM SCALARS layout: every layer of a run on one chart per quantity, and the
sweep's gradient flow as one chart per swept value with one line per run."""

from __future__ import annotations

import re

from aelab.loggers.tensorboard.tags import tb_tag


def _all(name: str) -> str:
    """The regex of every layer's tag of the measured quantity ``name`` (``grad_norm``)."""
    return "^" + re.escape(tb_tag(f"{name}/"))


def _one(name: str) -> str:
    return "^" + re.escape(tb_tag(name)) + "$"


def layout(grad_flow: bool, scalars: bool, axes: dict[str, list[str]]) -> dict[str, dict[str, list]]:
    """The layout for a run whose sweep varies ``axes`` (``{key: [values]}``; a single run: its own
    activation and depth); the same in every run of the sweep (TensorBoard merges equal charts)."""
    charts: dict[str, dict[str, list]] = {}
    if grad_flow:
        sweep = {}
        for key, values in axes.items():
            for value in values:
                group = re.escape(f"{key}={value}")
                sweep[f"log10 ‖∂E/∂W⁽¹⁾‖ / ‖∂E/∂W⁽ᴸ⁾‖, {key}={value}"] = [
                    "Multiline",
                    [rf"^sweep/ratio_log10/{group}$"],
                ]
                sweep[f"log10 ‖∂E/∂W⁽¹⁾‖ (first layer), {key}={value}"] = [
                    "Multiline",
                    [rf"^sweep/first_layer_log10/{group}$"],
                ]
        charts["gradient flow across runs (probe batch, log10; step 0 = initial weights)"] = sweep
        charts["gradient flow per layer (log10)"] = {
            "log10 gradient norm ‖∂E/∂W‖ per layer": ["Multiline", [_all("grad_norm")]],
            "log10 error signal ‖δ‖ per layer": ["Multiline", [_all("delta_norm")]],
            "log10 weight norm ‖W‖ per layer": ["Multiline", [_all("weight_norm")]],
            "log10 gradient norm on the probe batch, per epoch": ["Multiline", [_all("grad_norm_probe")]],
            "saturated or dead units per layer": ["Multiline", [_all("saturation")]],
        }
    if scalars:
        charts["loss"] = {
            "train vs val loss": ["Multiline", [_one("loss/train"), _one("loss/val"), _one("loss/train_epoch")]],
            "validation metrics": ["Multiline", [r"^metric/val_sq_err_per_image$"]],
            # the kind's terms (sparse, contractive: penalty; vae: kl) beside the reconstruction
            "loss parts: reconstruction and the kind's terms": [
                "Multiline",
                [_one(f"loss/{term}").removesuffix("$") + "(_epoch)?$" for term in ("recon", "penalty", "kl")],
            ],
        }
    return charts


__all__ = ["layout"]
