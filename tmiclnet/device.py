"""The one place that chooses a device, mixed precision and seeds.

Code elsewhere never names CUDA: it asks for `pick_device()` and wraps forward passes in
`autocast(device)`, so the same notebook runs on a laptop CPU and on a GPU.
"""

from __future__ import annotations

import contextlib
import os
import random

import numpy as np
import torch


def pick_device(name: str = "auto") -> torch.device:
    """`auto` takes a GPU when one is present, else the CPU; any torch device string is accepted."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} was asked for but no CUDA GPU is visible")
    return device


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch, and ask torch for deterministic kernels (bit-exact on CPU)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)


def amp_enabled(device: torch.device) -> bool:
    """Mixed precision pays off on CUDA only; on CPU it is slower and changes results."""
    return device.type == "cuda"


def autocast(device: torch.device, enabled: bool = True):
    """A bfloat16/float16 autocast context on GPU, a no-op elsewhere."""
    if enabled and amp_enabled(device):
        return torch.autocast(device_type=device.type, dtype=torch.float16)
    return contextlib.nullcontext()


def describe(device: torch.device) -> str:
    """One human line about the device, for the notebooks' headers.

    Args:
        device: the torch device to describe, e.g. ``run.device``.
    """
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return f"{props.name} ({props.total_memory / 2**30:.0f} GiB)"
    return f"{device.type} ({torch.get_num_threads()} threads)"


def reset_peak_memory(device: torch.device) -> None:
    """Start a new peak-memory window (GPU only; nothing to measure on the CPU here)."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_mib(device: torch.device) -> float | None:
    """Peak GPU memory allocated by tensors since the last reset, MiB; None off the GPU."""
    if device.type == "cuda":
        return round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    return None
