"""What the trainer, CV and study tests share: a tiny model that follows the catalogue's contract,
synthetic tensors and cohort inputs, one tiny fit, and a two-fold CV run of the quick profile.

One copy here, so that a change of the trainer's or the runner's signature is fixed once.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from tmiclnet.config import Run, setup
from tmiclnet.inputs.features import CohortInputs
from tmiclnet.inputs.tensors import TensorData

CT_MODELS = ["ct_only", "ct_radiomics"]  # the second reads the first one's cached CT tokens


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


def fit_tiny(checkpoint: Path, epochs: int, **fit_kw):
    """Train `Tiny` on 90 of `synthetic(120)`'s patients, validated on the other 30, seed 0, with
    its checkpoint at `checkpoint` (key "k"); return (the fit's result, the model).

    Every call starts from the same weights and batches, so two calls differ only by what
    `fit_kw` (stop_after, checkpoint_every, ...) changes: the resume tests compare them bit for bit.
    """
    from tmiclnet.train.trainer import TrainConfig, fit

    data = synthetic(120)
    train, val = data.subset(data.ids[:90]), data.subset(data.ids[90:])
    torch.manual_seed(0)
    model = Tiny()
    cfg = TrainConfig(epochs=epochs, batch_size=16, lr=1e-2, patience=100, seed=0)
    result = fit(
        model, train, val, cfg, torch.device("cpu"), checkpoint=checkpoint, key="k", **fit_kw
    )
    return result, model


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


def ct_radiomics_inputs(
    n: int = 48, seed: int = 0, shape: tuple[int, int, int] = (16, 16, 16), features: int = 4
) -> CohortInputs:
    """Tiny CT volumes of `shape` and `features` radiomic features, both carrying the label a
    little."""
    g = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    ids = [f"c-{i:03d}" for i in range(n)]
    y = torch.tensor(rng.random(n) < 0.45, dtype=torch.long)
    ct = torch.rand(n, 1, *shape, generator=g) * 0.5 + 0.3 * y.float().view(-1, 1, 1, 1, 1)
    cols = [f"original_firstorder_f{j}" for j in range(features)]
    rad = pd.DataFrame(rng.normal(size=(n, features)) + y.numpy()[:, None], index=ids, columns=cols)
    return CohortInputs(ids, y, ct=ct, radiomics=rad, info={"ct_key": "t", "radiomics_key": "t"})


def labels_of(inputs: CohortInputs) -> pd.Series:
    """The inputs' labels by patient id, as the CV runner and the fold makers take them."""
    return pd.Series(inputs.labels.numpy(), index=inputs.ids)


def small_run(root: str | Path, **profile) -> Run:
    """The quick profile on the CPU, seed 0, cut to two folds of two epochs; `profile` replaces
    any other field (epochs, batch_size, n_jobs, ct_tokens, ...).

    Two folds and two epochs keep a cross-validation of a tiny model to about a second; seed 0 and
    the CPU make a second call give the same numbers, which the skip/retrain tests rely on.
    """
    run = setup("quick", root, seed=0, device="cpu")
    changes = {"folds": 2, "epochs": 2, **profile}
    return run.replace(profile=dataclasses.replace(run.profile, **changes))


def cv(
    inputs: CohortInputs, run: Run, out: Path, models: list[str], labels=None, **kw
) -> pd.DataFrame:
    """`cross_validate` of `models` on the inputs as cohort "syn", with the inputs' own labels
    unless `labels` is given (the permutation tests pass others); `kw` goes to the runner."""
    from tmiclnet.train.cv import cross_validate

    labels = labels_of(inputs) if labels is None else labels
    return cross_validate(inputs, "syn", labels, models, run, out, **kw)
