"""Per-layer gradient norms ‖∂E/∂W^(l)‖: the lecture's vanishing-gradient measurement.

Measured on a fixed probe batch with ``torch.autograd.grad`` (no ``.grad`` is touched, no RNG is
drawn), so measuring never changes what the run trains.
"""

from __future__ import annotations

import torch
from torch import Tensor

from aelab.losses import LossFn
from aelab.models import Autoencoder


def layer_grad_norms(model: Autoencoder, x: Tensor, loss_fn: LossFn) -> dict[str, float]:
    """``{layer name: ‖∂E/∂W‖}`` for every weight layer, first to last, on the batch ``x``."""
    layers = model.layers()
    with torch.enable_grad():
        loss = loss_fn(model(x), x)
        grads = torch.autograd.grad(loss, [layer.weight for _, layer in layers])
    norms = torch.stack([g.float().norm() for g in grads]).tolist()
    return {name: norm for (name, _), norm in zip(layers, norms)}
