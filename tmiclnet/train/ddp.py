"""Data-parallel training with torch.distributed: one process per device, launched by torchrun.

`torchrun --nproc_per_node=N -m tmiclnet train ...` sets RANK / WORLD_SIZE / LOCAL_RANK; each
process trains a replica on its share of every global batch (DistributedSampler) and DDP averages
the gradients, so N processes with per-process batch B/N follow the same path as one process with
batch B (up to float summation order). Backend: nccl on GPUs, gloo on CPUs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class World:
    """This process's place among the training processes (rank 0 of 1 when not distributed)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Only the main process writes files and shows progress."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


SINGLE = World()


def from_env(device: torch.device) -> tuple[World, torch.device]:
    """Join the process group torchrun describes (if any) and return (world, this rank's device)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return SINGLE, device
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device(device.type, local)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return World(rank, size, local), device


def wrap(model: nn.Module, world: World, device: torch.device) -> nn.Module:
    """The model as DDP replica when distributed, unchanged otherwise."""
    if not world.distributed:
        return model
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids, find_unused_parameters=True)


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module inside a DDP wrapper."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def barrier(world: World) -> None:
    """Wait for every process (no-op when not distributed)."""
    if world.distributed:
        dist.barrier()


def shutdown() -> None:
    """Leave the process group if this process joined one."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
