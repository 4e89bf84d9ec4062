"""Checkpoints: the one source of truth of a run, verified on every load.

``last.pt`` holds everything a run is: model, optimizer, scheduler and RNG states, the position in
the epoch, the weights of the best epoch so far, the config, and the **record** — status,
per-epoch history, best epoch, validation and test metrics, initial gradient norms, wall time —
from which ``metrics.json`` and ``best.pt`` are written (:mod:`aelab.training.rundir`). So a kill
at any line, a full disk or a deleted file can never make them disagree for long: the next
resume rewrites them from ``last.pt``.

Every checkpoint is written with its SHA-256 beside it (:func:`aelab.files.write_verified`) and
checked on every load; it is a plain ``torch.save`` file of tensors and containers, loaded with
``weights_only=True``, so a forged pickle is refused, never run.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from aelab.errors import CorruptFileError
from aelab.files import read_verified, write_verified


def serialize(state: dict[str, Any]) -> bytes:
    """The bytes ``torch.save`` writes for ``state`` (hashed before they reach the disk)."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def save_checkpoint(path: Path, state: dict[str, Any] | bytes) -> str:
    """Write ``state`` (or its serialized bytes) atomically with its SHA-256 recorded; return the hash."""
    return write_verified(path, state if isinstance(state, bytes) else serialize(state))


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The state saved at ``path``, after checking its SHA-256; any problem is one CorruptFileError."""
    return checkpoint_from_bytes(read_verified(path), path, map_location)


def checkpoint_from_bytes(data: bytes, path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The state in ``data``, verified bytes read from ``path`` (named in any error)."""
    try:
        state = torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:  # weights_only refused a Python object: never run it, never advise to
        raise CorruptFileError(
            f"{path} holds Python objects other than tensors and plain containers; refusing to load it"
        ) from None
    except (RuntimeError, EOFError, ValueError, KeyError, zipfile.BadZipFile, OSError) as err:
        raise CorruptFileError(f"{path} is not a readable checkpoint ({type(err).__name__})") from None
    if not isinstance(state, dict):
        raise CorruptFileError(f"{path} is not an aelab checkpoint (it holds a {type(state).__name__})")
    return state


def rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


__all__ = ["checkpoint_from_bytes", "load_checkpoint", "rng_state", "save_checkpoint", "serialize", "set_rng_state"]
