"""Gradient flow, measured: the lecture's vanishing-gradient story as numbers, in one place.

* :func:`layer_grad_norms` — ‖∂E/∂W^(l)‖ per weight layer on a fixed probe batch, with
  ``torch.autograd.grad`` (no ``.grad`` touched, no RNG drawn), so measuring never changes what a
  run trains. ``train()`` records it at initialisation and after every epoch.
* :class:`StepProbe` — during one training step, every layer's ‖δ^(l)‖ (δ = g ⊙ φ'(z), g = ∂E/∂a
  at the layer's output, Frobenius norm over the mini-batch) and saturated/dead-unit fraction,
  through hooks armed only for the steps that are logged; the loggers share one probe.
* :func:`first_last_ratio` — ‖∂E/∂W^(1)‖ / ‖∂E/∂W^(L)‖: far below 1, the gradient fades on its way
  back (sigmoid); near 1 it reaches the first layer (ReLU).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from aelab.backprop import dphi_input
from aelab.models.layers import WeightLayer

PROBE_SEED = 4321  # the noise a kind draws on the probe batch (corruption, sampling): fixed


def layer_grad_norms(model: nn.Module, x: Tensor, loss_fn: Callable[[Any, Tensor], Tensor]) -> dict[str, float]:
    """``{layer name: ‖∂E/∂W‖}`` for every weight layer, first to last, on the batch ``x``. A kind
    that draws noise in training (denoising, vae) draws it here from a fixed seed, inside a forked
    RNG: the measure is comparable across epochs and the training's random numbers are untouched."""
    layers = model.layers()  # type: ignore[operator]
    devices = [x.device.index or 0] if x.device.type == "cuda" else []
    with torch.enable_grad(), torch.random.fork_rng(devices=devices):
        torch.manual_seed(PROBE_SEED)
        loss = loss_fn(model(x), x)
        grads = torch.autograd.grad(loss, [layer.weight for _, layer in layers])
    norms = torch.stack([g.float().norm() for g in grads]).tolist()
    return {name: norm for (name, _), norm in zip(layers, norms)}


def first_last_ratio(norms: dict[str, float] | None) -> float | None:
    """‖∂E/∂W‖ of the first layer over that of the last (layers in forward order), or None."""
    if not norms or len(norms) < 2:
        return None
    values = list(norms.values())
    first, last = float(values[0]), float(values[-1])
    if not (math.isfinite(first) and math.isfinite(last)) or last <= 0:
        return None
    return first / last


class StepProbe:
    """Per-layer δ norms and saturation of the next training step, on request.

    :meth:`arm` hangs a forward hook on every weight layer: it takes what the layer's φ' is computed
    from, as the layer's backward takes it (its output a, or for a row whose φ' needs z the
    pre-activation z, computed again from the layer's input: one more matrix product per layer, on
    logged steps only; :func:`aelab.backprop.dphi_input`), measures the layer's saturation from it
    (the activation's own rule, :meth:`aelab.backprop.Activation.saturated_fraction`) and hooks a on
    the way back, where g = ∂E/∂a becomes ‖δ‖ = ‖g ⊙ φ'(z)‖ (``Activation.delta``). Values stay on the
    device (0-d tensors) until the logger reads them all at once. :meth:`disarm` removes the hooks:
    steps that are not logged run without them. (Under ``trainer.compile`` or ``cuda_graphs`` the
    hooks are not used: the step is compiled or replayed without Python.)
    """

    def __init__(self, layers: Sequence[tuple[str, WeightLayer]]) -> None:
        self.layers = layers
        self.delta: dict[str, Tensor] = {}
        self.saturation: dict[str, Tensor] = {}
        self._kept: dict[str, Tensor | None] = {}  # per layer, what its φ' is computed from (a, z; None: φ' ≡ 1)
        self._hooks: list[Any] = []

    @property
    def armed(self) -> bool:
        return bool(self._hooks)

    def arm(self) -> None:
        if not self._hooks:
            self._hooks = [layer.register_forward_hook(self._forward_hook(name, layer)) for name, layer in self.layers]

    def disarm(self) -> None:
        for handle in self._hooks:
            handle.remove()
        self._hooks, self._kept = [], {}

    def take(self) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """(δ norms, saturation) of the step just run; the probe starts empty again."""
        out = (self.delta, self.saturation)
        self.delta, self.saturation, self._kept = {}, {}, {}
        return out

    def _forward_hook(self, name: str, layer: WeightLayer) -> Callable[..., None]:
        act = layer.act

        def delta_hook(g: Tensor) -> None:
            if name in self._kept:  # held here, not in the hook: no reference cycle
                kept = self._kept.pop(name)
                with torch.no_grad():
                    delta = act.delta(g.float(), None if kept is None else kept.float())  # δ = g ⊙ φ'(z)
                    self.delta[name] = torch.linalg.vector_norm(delta)

        def hook(module: nn.Module, inputs: Any, output: Tensor) -> None:
            # Only training forwards (evaluation runs under no_grad); a grad-enabled forward
            # outside a step (the per-epoch probe batch) is overwritten by the next training step.
            if not (isinstance(output, Tensor) and output.requires_grad and module.training):
                return
            with torch.no_grad():
                kept = dphi_input(layer, inputs[0], output.detach())  # a, or z (None: φ' ≡ 1)
                sat = act.saturated_fraction(kept) if kept is not None else None
            if sat is not None:
                self.saturation[name] = sat
            self._kept[name] = kept  # for φ' in the backward
            output.register_hook(delta_hook)  # returns None: the gradient flows on unchanged

        return hook


__all__ = ["StepProbe", "first_last_ratio", "layer_grad_norms"]
