"""Greedy layer-wise pretraining (``pretrain=layerwise``): stacked autoencoders, then unrolling.

Before deep networks trained end to end (ReLU, good inits), a deep sigmoid autoencoder started
from weights learnt one layer at a time (Hinton & Salakhutdinov 2006 with RBMs; Bengio et al. 2007
with autoencoders). For encoder layer l = 1 … K, in turn:

    h^(l−1)   = the codes of the layers below (l = 1: the images), those layers frozen
    h^(l)     = φ(W^(l) h^(l−1) + b^(l))                 the network's own layer l (the Function)
    ĥ^(l−1)   = ψ(W^(l)ᵀ h^(l) + c^(l))                  tied weights: the transposed encoder
    E_l       = loss(ĥ^(l−1), h^(l−1))                   l = 1: the run's loss on the images;
                                                         l > 1: the lecture's ½‖ĥ − h‖² on codes

ψ and c^(l) are those of the decoder layer that mirrors layer l in the unrolled network, so once
layer l is trained the decoder layer *is* the shallow decoder: weights W^(l)ᵀ, bias c^(l). After
the K stages the stack is unrolled and training goes on end to end (the fine-tuning). With
``ae=denoising`` each stage corrupts its input: stacked denoising autoencoders (Vincent et al. 2010).

Each stage draws its batch order and noise from its own seeded generators and starts from the
weights the stage before committed, so an interrupted pretraining resumes at the stage it was in
and ends as an uninterrupted one would.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm

from aelab.backprop import LectureLinear, linear_act
from aelab.data.augment import epoch_permutation
from aelab.models.base import AEOutput, Autoencoder
from aelab.models.layers import WEIGHT_LAYER_TYPES, WeightLayer
from aelab.training.losses import reconstruction_loss
from aelab.training.optim import build_optimizer

STAGE_SEED = 7919  # stage l draws from seed + STAGE_SEED·l


@dataclasses.dataclass
class Stage:
    """Encoder layer ``index`` (position in ``model.encoder``), its name, and its mirror in the decoder."""

    name: str
    index: int
    encoder: WeightLayer
    decoder: WeightLayer


def stages(model: Autoencoder) -> list[Stage]:
    """The encoder's weight layers first to last (:meth:`Autoencoder.layers`), each with the decoder
    layer that mirrors it. Layer-wise pretraining needs an encoder whose weight layers are a chain
    of its direct children, mirrored layer for layer by the decoder (the config's rule refuses other
    families before a run starts: ``ModelConfig.tied``)."""
    layers = model.layers()
    n_enc = sum(1 for m in model.encoder.modules() if isinstance(m, WEIGHT_LAYER_TYPES))
    position = {id(m): i for i, m in enumerate(model.encoder)}
    enc, dec = layers[:n_enc], [m for _, m in layers[n_enc:]]
    if len(dec) != len(enc) or any(id(m) not in position for _, m in enc):
        raise ValueError("layer-wise pretraining needs a chain encoder that the decoder mirrors layer for layer")
    return [Stage(name, position[id(m)], m, dec[len(enc) - 1 - k]) for k, (name, m) in enumerate(enc)]


def tied_decode(stage: Stage, h: Tensor) -> Tensor:
    """ψ(W^(l)ᵀ h + c^(l)): the mirroring decoder layer, with the encoder's weights transposed."""
    weight, bias = stage.encoder.weight.t(), stage.decoder.bias
    if isinstance(stage.decoder, LectureLinear):
        return linear_act(h, weight, bias, stage.decoder.act)
    assert isinstance(stage.decoder, nn.Linear)
    return stage.decoder.phi(F.linear(h, weight, bias))


@torch.no_grad()
def unroll(stage: Stage) -> None:
    """The mirroring decoder layer starts as the transposed encoder layer (its bias is c^(l))."""
    stage.decoder.weight.copy_(stage.encoder.weight.t())


@torch.no_grad()
def inputs_of(model: Autoencoder, stage: Stage, images: Tensor, batch_size: int) -> Tensor:
    """h^(l−1) for every image: the frozen encoder modules below the stage's layer."""
    below = model.encoder[: stage.index]
    return torch.cat([below(images[i : i + batch_size]) for i in range(0, len(images), batch_size)])


def pretrain_layerwise(
    model: Autoencoder,
    images: Tensor,
    config: Any,
    done: list[dict[str, Any]],
    commit: Callable[[list[dict[str, Any]]], None],
    check_stop: Callable[[str], None],
    progress: bool = False,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Pretrain the stages not in ``done`` (each a dict: ``layer``, ``losses`` per epoch, ``time_s``),
    calling ``commit(stages so far)`` after each. ``check_stop(where)`` is called before every step
    and raises to stop (the stage is then left uncommitted: a resume runs it again from its start).
    Returns every stage's record."""
    pre, batch_size = config.pretrain, config.trainer.batch_size
    opt_cfg = dataclasses.replace(config.optimizer, lr=pre.lr or config.optimizer.lr, schedule="none")
    kind = model.kind
    corrupt = getattr(kind, "corrupt", None)  # ae=denoising: stacked denoising autoencoders
    image_loss = reconstruction_loss(config.loss.name, config.model.impl)
    code_loss = reconstruction_loss("mse", config.model.impl)  # ½‖ĥ − h‖², the lecture's loss
    records = list(done)
    device = images.device
    for k, stage in enumerate(stages(model)):
        if k < len(records):
            continue
        tick = time.perf_counter()
        order_gen = torch.Generator().manual_seed(config.seed + STAGE_SEED * (k + 1))
        noise_gen = torch.Generator(device=device).manual_seed(config.seed + STAGE_SEED * (k + 1))
        targets = images if k == 0 else inputs_of(model, stage, images, batch_size)
        params = [stage.encoder.weight, stage.encoder.bias, stage.decoder.bias]
        optimizer = build_optimizer(opt_cfg, params, batch_size=batch_size)
        losses: list[float] = []
        for epoch in range(pre.epochs_per_layer):
            perm = epoch_permutation(len(targets), order_gen).to(device)
            total = torch.zeros((), device=device)
            batches = perm.split(batch_size)
            desc = f"pretrain {stage.name} {epoch + 1}/{pre.epochs_per_layer}"
            for idx in tqdm(batches, disable=not progress, leave=False, desc=desc, unit="batch"):
                check_stop(f"pretraining {stage.name}, epoch {epoch + 1}")
                target = targets[idx]
                h_in = model.encoder[: stage.index](target) if k == 0 else target
                if corrupt is not None:
                    h_in = corrupt(h_in, noise_gen)
                h = stage.encoder(h_in)
                out = tied_decode(stage, h)
                if k == 0:  # the output layer: logits of images
                    logits = out.view_as(target)
                    loss = image_loss(AEOutput(logits=logits, recon=model.output(logits), code=h), target)
                else:
                    loss = code_loss(AEOutput(logits=out, recon=out, code=h), target)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += loss.detach()
            losses.append(float(total) / len(batches))
            if not math.isfinite(losses[-1]):
                raise FloatingPointError(f"non-finite loss (NaN/Inf) while pretraining {stage.name}")
            log(f"pretrain {stage.name} epoch {epoch + 1}/{pre.epochs_per_layer}  loss {losses[-1]:.4f}")
        unroll(stage)
        records.append({"layer": stage.name, "losses": losses, "time_s": time.perf_counter() - tick})
        commit(records)
    return records


__all__ = ["Stage", "pretrain_layerwise", "stages", "tied_decode", "unroll"]
