"""Training losses on an autoencoder output, summed over pixels and averaged over images.

* ``mse``: the lecture's ``E = 1/(2n) Σ_k ‖x̂_k − x_k‖²``; with ``impl=lecture`` its gradient
  ``(x̂ − x)/n`` is the hand-written one (:func:`aelab.backprop.half_mse`).
* ``bce``: ``−1/n Σ_k Σ_p [x log x̂ + (1 − x) log(1 − x̂)]`` computed from the logits, stably; with
  ``impl=lecture`` its gradient ``(x̂ − x)/n`` with respect to the logits is the hand-written one
  (:func:`aelab.backprop.bce_with_logits`). Both compute in float32, under autocast too.

The autoencoder kind may add terms of its own (``AEOutput.loss_terms``: a sparsity or contraction
``penalty``, a VAE's ``kl``): the training loss is the reconstruction loss plus their sum, and
:class:`Loss` keeps the last call's terms apart (``recon`` and the kind's), for the logs.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from aelab.backprop import bce_with_logits, half_mse
from aelab.models.base import AEOutput

LossFn = Callable[[AEOutput, Tensor], Tensor]


def _native_half_mse(out: AEOutput, x: Tensor) -> Tensor:
    return 0.5 * F.mse_loss(out.recon, x, reduction="sum") / x.shape[0]


def _lecture_half_mse(out: AEOutput, x: Tensor) -> Tensor:
    return half_mse(out.recon, x.to(out.recon.dtype))


def _native_bce(out: AEOutput, x: Tensor) -> Tensor:
    return F.binary_cross_entropy_with_logits(out.logits, x.to(out.logits.dtype), reduction="sum") / x.shape[0]


def _lecture_bce(out: AEOutput, x: Tensor) -> Tensor:
    # at least float32, as autocast runs the native loss whatever the logits' dtype (bf16 under it)
    z = out.logits.to(torch.promote_types(out.logits.dtype, torch.float32))
    return bce_with_logits(z, x.to(z.dtype))


def reconstruction_loss(name: str, impl: str) -> LossFn:
    if name == "mse":
        return _lecture_half_mse if impl == "lecture" else _native_half_mse
    if name == "bce":
        return _lecture_bce if impl == "lecture" else _native_bce
    raise ValueError(f"unknown loss {name!r}; loss must be one of: mse, bce")


class Loss:
    """``E = reconstruction + Σ loss_terms``; ``terms`` holds the last call's parts (detached device
    tensors, no sync): ``recon`` and each of the kind's terms."""

    def __init__(self, name: str, impl: str) -> None:
        self.recon = reconstruction_loss(name, impl)
        self.terms: dict[str, Tensor] = {}

    def __call__(self, out: AEOutput, x: Tensor) -> Tensor:
        recon = total = self.recon(out, x)
        for term in out.loss_terms.values():
            total = total + term
        self.terms = {"recon": recon.detach(), **{k: v.detach() for k, v in out.loss_terms.items()}}
        return total


def build_loss(name: str, impl: str) -> Loss:
    """The training loss: reconstruction ``name`` plus the kind's ``loss_terms``."""
    return Loss(name, impl)
