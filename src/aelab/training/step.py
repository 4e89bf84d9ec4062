"""The training step: forward, loss, the lecture's backward, the optimizer update.

Three ways to run the same step (``trainer.compile``, ``trainer.cuda_graphs``):

* eager (default);
* ``torch.compile`` of the model's forward (the hand-written Function is traced like any op);
* a CUDA graph of the whole step: forward, backward through the hand-written Function and the
  optimizer update are captured once and each step is one graph replay. The batch is copied into a
  static input buffer; batches of another size (the last, partial one) run eagerly on the same
  parameters. Warm-up iterations run on a copy of the state that is restored, so the captured run
  trains exactly the steps an eager run does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from aelab.models.base import Autoencoder
from aelab.training.losses import LossFn

Step = Callable[[Tensor], Tensor]


def eager_step(
    model: Autoencoder,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    autocast: dict[str, Any],
    forward: Callable | None = None,
    set_to_none: bool = True,
) -> Step:
    fwd = forward if forward is not None else model

    def step(x: Tensor) -> Tensor:
        with torch.autocast(**autocast):
            out = fwd(x)
            loss = loss_fn(out, x)
        optimizer.zero_grad(set_to_none=set_to_none)
        loss.backward()
        optimizer.step()
        return loss.detach()

    return step


def compiled_step(
    model: Autoencoder, loss_fn: LossFn, optimizer: torch.optim.Optimizer, autocast: dict[str, Any]
) -> Step:
    return eager_step(model, loss_fn, optimizer, autocast, forward=torch.compile(model))


def cuda_graph_step(
    model: Autoencoder,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    autocast: dict[str, Any],
    batch_shape: tuple[int, ...],
    warmup: int = 3,
) -> Step:
    """Capture the whole step for batches of ``batch_shape`` (needs a capturable optimizer)."""
    device = next(model.parameters()).device
    eager = eager_step(model, loss_fn, optimizer, autocast)
    static_x = torch.zeros(batch_shape, device=device)
    saved_model = {k: v.clone() for k, v in model.state_dict().items()}
    saved_opt = _clone_state(optimizer.state_dict())

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm-up on a side stream, as CUDA graph capture requires
        for _ in range(warmup):
            eager(static_x)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    optimizer.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        with torch.autocast(**autocast):
            static_loss = loss_fn(model(static_x), static_x)
        static_loss.backward()
        optimizer.step()
    static_terms = dict(getattr(loss_fn, "terms", {}))  # the loss's parts, rewritten by each replay
    # Undo the warm-up and capture updates: copy the saved values into the captured tensors.
    with torch.no_grad():
        for k, v in model.state_dict().items():
            v.copy_(saved_model[k])
    _restore_state(optimizer, saved_opt)

    # Other batch sizes run eagerly into the captured .grad tensors (zeroed, not replaced), so
    # the graph and whoever reads .grad keep seeing the same tensors.
    eager_in_place = eager_step(model, loss_fn, optimizer, autocast, set_to_none=False)

    def step(x: Tensor) -> Tensor:
        if x.shape != static_x.shape:
            return eager_in_place(x)
        static_x.copy_(x)
        graph.replay()
        if static_terms:
            loss_fn.terms = static_terms  # type: ignore[attr-defined]
        return static_loss.detach().clone()

    return step


def make_step(
    trainer: Any,
    model: Autoencoder,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    autocast: dict[str, Any],
    batch_shape: tuple[int, ...],
) -> Step:
    """The step ``trainer.cuda_graphs`` / ``trainer.compile`` ask for (eager by default)."""
    if trainer.cuda_graphs:
        return cuda_graph_step(model, loss_fn, optimizer, autocast, batch_shape)
    if trainer.compile:
        return compiled_step(model, loss_fn, optimizer, autocast)
    return eager_step(model, loss_fn, optimizer, autocast)


def _clone_state(state: Any) -> Any:
    if isinstance(state, Tensor):
        return state.clone()
    if isinstance(state, dict):
        return {k: _clone_state(v) for k, v in state.items()}
    if isinstance(state, list):
        return [_clone_state(v) for v in state]
    return state


def _restore_state(optimizer: torch.optim.Optimizer, saved: dict[str, Any]) -> None:
    """Copy saved optimizer state into the existing tensors (the graph holds their addresses)."""
    params = [p for g in optimizer.param_groups for p in g["params"]]
    with torch.no_grad():
        for index, p in enumerate(params):
            for key, value in optimizer.state[p].items():
                old = saved["state"].get(index, {}).get(key)
                if isinstance(value, Tensor):
                    value.copy_(old if old is not None else torch.zeros_like(value))
