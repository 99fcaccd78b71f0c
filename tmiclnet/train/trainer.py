"""The training loop: AdamW, one-cycle schedule, gradient clipping, early stopping on validation.

Plain PyTorch, one function per step of the loop. Every epoch ends with a checkpoint holding all
that the next epoch depends on (weights, optimizer, schedule, grad scaler, random generators,
early-stopping state, history), so a run killed after epoch k and resumed gives bit-for-bit the
weights of an uninterrupted run on CPU. The epoch's shuffling comes from DistributedSampler
seeded by (seed, epoch), not from a global generator, which is what makes the single-process and
the multi-process (DDP) runs visit the same global batches.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score
from torch import nn
from torch.utils.data import DistributedSampler
from tqdm.auto import tqdm

from tmiclnet.config import Profile
from tmiclnet.device import amp_enabled, autocast
from tmiclnet.inputs.tensors import TensorData, modality_dropout_mask
from tmiclnet.train.checkpoint import (
    cpu_state,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from tmiclnet.train.ddp import SINGLE, World, unwrap, wrap

HISTORY_COLUMNS = ["epoch", "train_loss", "val_loss", "val_auc", "lr", "seconds", "data_seconds"]


@dataclass(frozen=True)
class TrainConfig:
    """The optimisation settings of one fit (batch_size is the GLOBAL batch over all processes)."""

    epochs: int = 30
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-2
    patience: int = 8
    grad_clip: float = 1.0
    amp: bool = False
    seed: int = 0
    modality_dropout: float = 0.0  # chance that a training sample loses each modality, one kept
    fused: bool = False  # AdamW's fused kernel (Profile.fused_optimizer)

    @classmethod
    def from_profile(cls, profile: Profile, seed: int, **overrides) -> TrainConfig:
        base = cls(
            profile.epochs,
            profile.batch_size,
            profile.lr,
            profile.weight_decay,
            profile.patience,
            profile.grad_clip,
            profile.amp,
            seed,
            profile.modality_dropout,
            profile.fused_optimizer,
        )
        return cls(**{**asdict(base), **overrides})


@dataclass
class FitResult:
    """What a fit leaves: the per-epoch history and the best (lowest validation loss) weights."""

    history: pd.DataFrame
    best_epoch: int
    best_state: dict
    completed: bool  # False when stopped on request (`stop_after`) before the end

    @classmethod
    def of(cls, state: dict, completed: bool) -> FitResult:
        """The result held by the loop's state (`fit`'s `st`)."""
        history = pd.DataFrame(state["history"], columns=HISTORY_COLUMNS)
        return cls(history, state["best_epoch"], state["best_state"], completed)


def epoch_batches(n: int, cfg: TrainConfig, world: World, epoch: int) -> list[torch.Tensor]:
    """This process's row indices for each step of `epoch`.

    Process r takes every size-th index of one permutation seeded by (seed, epoch), so its k-th
    local batch is its share of the k-th global batch of size cfg.batch_size.
    """
    if cfg.batch_size % world.size:
        raise ValueError(f"batch size {cfg.batch_size} is not divisible by {world.size} processes")
    sampler = DistributedSampler(
        range(n), num_replicas=world.size, rank=world.rank, shuffle=True, seed=cfg.seed
    )
    sampler.set_epoch(epoch)
    rows = torch.tensor(list(sampler), dtype=torch.long)
    local = cfg.batch_size // world.size
    chunks = list(rows.split(local))
    if len(chunks) > 1 and len(chunks[-1]) < 2:  # a batch of one breaks batch norm
        chunks = chunks[:-1]
    return chunks


def _loss(net: nn.Module, batch: dict, device: torch.device, amp: bool) -> torch.Tensor:
    with autocast(device, amp):
        out = net(batch)
        return unwrap(net).loss(out, batch["label"]).float()


@torch.no_grad()
def predict(
    model: nn.Module,
    data: TensorData,
    device: torch.device,
    batch_size: int = 64,
    amp: bool = False,
) -> torch.Tensor:
    """Logits (N, 2) in float32 on the CPU, in eval mode, batch by batch."""
    model = unwrap(model).eval()
    chunks = []
    for rows in torch.arange(len(data)).split(batch_size):
        with autocast(device, amp):
            chunks.append(model(data.batch(rows, device))["logits"].float().cpu())
    return torch.cat(chunks) if chunks else torch.zeros(0, 2)


def probabilities(logits: torch.Tensor) -> np.ndarray:
    """P(label = 1) from two-class logits."""
    return torch.softmax(logits.float(), dim=1)[:, 1].numpy()


def auc(labels, probs) -> float:
    """ROC AUC, NaN when only one class is present."""
    labels = np.asarray(labels)
    return float(roc_auc_score(labels, probs)) if len(np.unique(labels)) == 2 else float("nan")


def _train_epoch(
    net,
    opt,
    sched,
    scaler,
    data: TensorData,
    cfg: TrainConfig,
    world: World,
    epoch: int,
    device: torch.device,
) -> tuple[float, float]:
    net.train()
    total, count, data_s = 0.0, 0, 0.0
    mods = tuple(getattr(unwrap(net), "modalities", ()))
    present = (
        modality_dropout_mask(len(data), mods, cfg.modality_dropout, cfg.seed, epoch)
        if cfg.modality_dropout > 0 and "present" in data.inputs
        else None
    )
    for rows in epoch_batches(len(data), cfg, world, epoch):
        t0 = time.perf_counter()
        batch = data.batch(rows, device)
        if present is not None:
            batch["present"] = batch["present"] & present[rows].to(device)
        data_s += time.perf_counter() - t0
        loss = _loss(net, batch, device, cfg.amp)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
        scaler.step(opt)
        scaler.update()
        sched.step()
        total += float(loss.detach()) * len(rows)
        count += len(rows)
    return total / max(count, 1), data_s


def _validate(net, data: TensorData, device, cfg: TrainConfig) -> tuple[float, float, float]:
    t0 = time.perf_counter()
    logits = predict(net, data, device, amp=cfg.amp)
    loss = float(F.cross_entropy(logits, data.labels))
    return loss, auc(data.labels.numpy(), probabilities(logits)), time.perf_counter() - t0


def make_optimizer(model: nn.Module, cfg: TrainConfig, steps_per_epoch: int):
    """AdamW over trainable parameters, with a one-cycle schedule (warm-up then cosine decay).

    `cfg.fused` picks AdamW's fused kernel, one pass over every parameter: on a CPU the default
    (one loop of ~10 small ops per tensor) was about a sixth of a fusion model's step."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(
        params, lr=cfg.lr, weight_decay=cfg.weight_decay, **({"fused": True} if cfg.fused else {})
    )
    total = max(cfg.epochs * steps_per_epoch, 2)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg.lr, total_steps=total, pct_start=0.1, anneal_strategy="cos"
    )
    return opt, sched


def fit(
    model: nn.Module,
    train: TensorData,
    val: TensorData,
    cfg: TrainConfig,
    device: torch.device,
    checkpoint: Path | None = None,
    key: str = "",
    world: World = SINGLE,
    stop_after: int | None = None,
    desc: str = "",
    checkpoint_every: float = 0.0,
) -> FitResult:
    """Train `model` on `train`, keep the weights of the epoch with the lowest validation loss.

    `checkpoint`: file written after every epoch and resumed from when it exists with the same
    `key` (the run's config hash). `stop_after`: return after that many epochs in this call (to
    simulate an interruption). `world`: this process's rank when training with DDP.
    `checkpoint_every`: seconds of training between checkpoints (0 = after every epoch); a
    resumed run still repeats the uninterrupted one bit for bit, it only redoes more epochs.
    """
    model.to(device)
    net = wrap(model, world, device)
    steps = len(epoch_batches(len(train), cfg, world, 0))
    opt, sched = make_optimizer(model, cfg, steps)
    scaler = torch.amp.GradScaler(device.type, enabled=cfg.amp and amp_enabled(device))
    st = {
        "epoch": 0,
        "best_loss": math.inf,
        "best_epoch": -1,
        "bad": 0,
        "history": [],
        "best_state": cpu_state(model),
    }
    if checkpoint is not None and Path(checkpoint).exists():
        saved = load_checkpoint(checkpoint)
        if saved.get("key") == key and "optimizer" in saved:
            unwrap(net).load_state_dict(saved["model"])
            opt.load_state_dict(saved["optimizer"])
            sched.load_state_dict(saved["scheduler"])
            scaler.load_state_dict(saved["scaler"])
            set_rng_state(saved["rng"])
            st = saved["loop"]
    done_now, saved_at = 0, time.perf_counter()
    bar = tqdm(
        total=cfg.epochs,
        initial=st["epoch"],
        desc=desc,
        unit="epoch",
        leave=False,
        **({} if world.main else {"disable": True}),
    )
    while st["epoch"] < cfg.epochs and st["bad"] < cfg.patience:
        if stop_after is not None and done_now >= stop_after:
            bar.close()
            return FitResult.of(st, completed=False)
        t0 = time.perf_counter()
        lr = opt.param_groups[0]["lr"]
        train_loss, data_s = _train_epoch(
            net, opt, sched, scaler, train, cfg, world, st["epoch"], device
        )
        val_loss, val_auc, _ = _validate(net, val, device, cfg)
        if val_loss < st["best_loss"]:
            st.update(best_loss=val_loss, best_epoch=st["epoch"], bad=0, best_state=cpu_state(net))
        else:
            st["bad"] += 1
        st["history"].append(
            [st["epoch"], train_loss, val_loss, val_auc, lr, time.perf_counter() - t0, data_s]
        )
        st["epoch"] += 1
        done_now += 1
        bar.set_postfix(val_loss=f"{val_loss:.3f}", val_auc=f"{val_auc:.3f}")
        bar.update(1)
        stopping = stop_after is not None and done_now >= stop_after
        due = time.perf_counter() - saved_at >= checkpoint_every or stopping
        if checkpoint is not None and world.main and due:
            saved_at = time.perf_counter()
            save_checkpoint(
                Path(checkpoint),
                {
                    "key": key,
                    "model": cpu_state(net),
                    "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(),
                    "scaler": scaler.state_dict(),
                    "rng": rng_state(),
                    "loop": copy.deepcopy(st),
                },
            )
    bar.close()
    return FitResult.of(st, completed=True)
