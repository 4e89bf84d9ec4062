"""What a run runs on, described once: the device it trains on, the CPU, torch's threads, memory.
torch is imported only by the functions that ask it."""

from __future__ import annotations

import os
import platform
import signal
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from aelab.errors import ConfigError

if TYPE_CHECKING:
    import torch


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo (else what platform knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name") and ":" in line:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def n_cpus() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def import_torch() -> ModuleType:
    """torch, imported with Ctrl-C held until the import is done, then taken as it would have been.

    Inside torch's import a KeyboardInterrupt can land in C++ that swallows it (torch's C extension
    imports numpy and goes on without it when that fails: the run would go on) or cannot pass it on
    (pybind11 calls std::terminate: the process aborts). So a SIGINT during the import is noted,
    and handed to the handler that was there before once torch is imported."""
    if "torch" in sys.modules or threading.current_thread() is not threading.main_thread():
        import torch  # signal handlers can only be set in the main thread

        return torch
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        import torch
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught and callable(previous):
        previous(signal.SIGINT, None)  # Python's default handler raises KeyboardInterrupt here
    elif caught and previous == signal.SIG_DFL:
        raise KeyboardInterrupt
    return torch


def resolve_device(name: str) -> torch.device:
    """``auto`` → cuda when a GPU is visible, else cpu; ``cuda`` without a GPU is a ConfigError."""
    torch = import_torch()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device=cuda but no CUDA device is available; use device=cpu or device=auto")
    if name not in ("cpu", "cuda"):
        raise ConfigError(f"device={name} is not valid; choose one of: auto, cpu, cuda")
    return torch.device(name)


def describe(device: torch.device | str) -> str:
    """``NVIDIA H100 80GB HBM3`` for a GPU; ``AMD EPYC 7B13 (2 cores, 1 torch thread)`` for a CPU."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    threads = torch.get_num_threads()
    return f"{cpu_name()} ({n_cpus()} cores, {threads} torch thread{'s' if threads != 1 else ''})"


def available_memory(device: torch.device) -> int | None:
    """Bytes a run may still allocate on ``device`` (None where unknown)."""
    if device.type == "cuda":
        import torch

        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


__all__ = ["available_memory", "cpu_name", "describe", "n_cpus", "resolve_device"]
