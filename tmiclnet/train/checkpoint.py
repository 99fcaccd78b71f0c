"""Resume checkpoints of a fit: weights, random generators, written atomically.

`tmiclnet.train.trainer.fit` saves, after an epoch, all that the next epoch depends on, so a run
killed after epoch k and resumed gives bit for bit the weights of an uninterrupted run on CPU.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch
from torch import nn

from tmiclnet.provenance import atomic_torch_save
from tmiclnet.train.ddp import unwrap


def rng_state() -> dict:
    """Every random generator a training step draws from (torch, NumPy, Python, CUDA)."""
    state = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what `rng_state` saved, so a resumed run draws what an unbroken one would."""
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def cpu_state(model: nn.Module) -> dict:
    """A copy of the (unwrapped) model's weights on the CPU."""
    return {k: v.detach().to("cpu", copy=True) for k, v in unwrap(model).state_dict().items()}


def save_checkpoint(path: Path, payload: dict) -> None:
    """Write atomically, so a kill during the write leaves the previous checkpoint intact."""
    atomic_torch_save(path, payload)


def load_checkpoint(path: Path) -> dict:
    """A checkpoint written by `save_checkpoint`."""
    # weights_only=False: the file holds NumPy / Python RNG states; it is our own file.
    return torch.load(path, map_location="cpu", weights_only=False)
