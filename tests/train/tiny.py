"""A tiny model that follows the catalogue's contract, and synthetic tensors, for trainer tests."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from tmiclnet.inputs.features import CohortInputs
from tmiclnet.inputs.tensors import TensorData


class Tiny(nn.Module):
    """radiomics (B,F) -> logits; the contract's output dict and loss method."""

    modalities = ("radiomics",)

    def __init__(self, features: int = 8, dropout: float = 0.2) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(features, 16), nn.ReLU(), nn.Dropout(dropout), nn.Linear(16, 2)
        )

    def forward(self, batch: dict) -> dict:
        return {
            "logits": self.net(batch["radiomics"]),
            "features": [None, None, None],
            "attention": {},
        }

    def loss(self, output: dict, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(output["logits"], labels)


def synthetic(n: int = 120, features: int = 8, seed: int = 0, noise: float = 0.7) -> TensorData:
    """Labels from the first two features plus noise: a learnable signal."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, features, generator=g)
    y = ((x[:, 0] + x[:, 1]) / 1.4 + noise * torch.randn(n, generator=g) > 0).long()
    return TensorData(
        [f"s-{i:04d}" for i in range(n)],
        {"radiomics": x, "present": torch.ones(n, 3, dtype=torch.bool)},
        y,
    )


def ddp_worker(rank: int, world_size: int, port: int, out: str, epochs: int) -> None:
    """One of the processes of the DDP test: trains its share, rank 0 saves the weights."""
    from tmiclnet.train.ddp import World, shutdown
    from tmiclnet.train.trainer import TrainConfig, fit

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    torch.distributed.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        data = synthetic(80)
        train, val = data.subset(data.ids[:64]), data.subset(data.ids[64:])
        torch.manual_seed(0)
        model = Tiny(dropout=0.0)
        cfg = TrainConfig(epochs=epochs, batch_size=16, lr=1e-2, patience=100, seed=3)
        result = fit(model, train, val, cfg, torch.device("cpu"), world=World(rank, world_size))
        if rank == 0:
            torch.save(
                {"final": model.state_dict(), "best": result.best_state, "history": result.history},
                out,
            )
    finally:
        shutdown()


def radiomics_inputs(n: int = 60, seed: int = 0, per_family: int = 6) -> CohortInputs:
    """Two radiomic families of `per_family` features; the first feature carries the label."""
    rng = np.random.default_rng(seed)
    ids = [f"syn-{i:04d}" for i in range(n)]
    y = rng.random(n) < 0.4
    cols = [f"original_firstorder_f{j}" for j in range(per_family)] + [
        f"original_glcm_f{j}" for j in range(per_family)
    ]
    x = rng.normal(size=(n, len(cols))) * 50 + 100
    x[:, 0] += 60 * y
    raw = pd.DataFrame(x, index=ids, columns=cols)
    return CohortInputs(
        ids, torch.tensor(y.astype(int)), radiomics=raw, info={"radiomics_key": "t"}
    )


def ct_radiomics_inputs(n: int = 48, seed: int = 0) -> CohortInputs:
    """Tiny CT volumes and radiomics, both carrying the label a little."""
    g = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    ids = [f"c-{i:03d}" for i in range(n)]
    y = torch.tensor(rng.random(n) < 0.45, dtype=torch.long)
    ct = torch.rand(n, 1, 16, 16, 16, generator=g) * 0.5 + 0.3 * y.float().view(-1, 1, 1, 1, 1)
    cols = [f"original_firstorder_f{j}" for j in range(4)]
    rad = pd.DataFrame(rng.normal(size=(n, 4)) + y.numpy()[:, None], index=ids, columns=cols)
    return CohortInputs(ids, y, ct=ct, radiomics=rad, info={"ct_key": "t", "radiomics_key": "t"})
