"""The training loop: AdamW, one-cycle schedule, gradient clipping, early stopping on validation.

Which epoch's weights are kept is `TrainConfig.select`: the lowest validation cross-entropy (every
model but the CT encoder's), or the highest validation AUC averaged over the last
`SMOOTH_EPOCHS` epochs, which a near-prior model cannot win by predicting the base rate; no epoch
before `TrainConfig.min_epochs` is kept or counted against the patience. Training batches of CT
volumes are augmented when `TrainConfig.augment` (`tmiclnet.data.augment`).

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

from tmiclnet.config import Profile, Selection
from tmiclnet.data.augment import CtAugment
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
# epochs whose validation AUC `Selection.VAL_AUC_SMOOTH` averages (the current and the ones before)
SMOOTH_EPOCHS = 3


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
    warmup: float = 0.1  # share of the one-cycle schedule spent warming up (its pct_start)
    min_epochs: int = 0  # no earlier epoch is kept, nor counted against the patience
    select: Selection = Selection.VAL_LOSS  # which epoch's weights are kept
    augment: bool = False  # augment training batches of CT volumes (tmiclnet.data.augment)

    def __post_init__(self) -> None:
        object.__setattr__(self, "select", Selection(self.select))

    @classmethod
    def from_profile(
        cls, profile: Profile, seed: int, ct_encoder: bool = False, **overrides
    ) -> TrainConfig:
        """The profile's settings; with `ct_encoder`, its CT-encoder ones (`ct_lr`, ...) too.

        Args:
            profile: the run's profile.
            seed: the fit's seed (shuffling, dropout, augmentation).
            ct_encoder: the model trains a CT encoder (`tmiclnet.train.fold.train_config`).
            **overrides: fields a catalogue entry fixes.
        """
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
        ct = ct_settings(profile) if ct_encoder else {}
        return cls(**{**asdict(base), **ct, **overrides})


def ct_settings(profile: Profile) -> dict:
    """The TrainConfig fields of a model that trains a CT encoder, from the profile's ct_*."""
    return {
        "lr": profile.lr if profile.ct_lr is None else profile.ct_lr,
        "epochs": profile.epochs if profile.ct_epochs is None else profile.ct_epochs,
        "patience": profile.patience if profile.ct_patience is None else profile.ct_patience,
        "warmup": profile.ct_warmup,
        "min_epochs": profile.ct_min_epochs,
        "select": profile.ct_select,
        "augment": profile.ct_augment,
    }


def warmup_epochs(cfg: TrainConfig) -> int:
    """The first epoch that starts after the one-cycle warm-up has ended."""
    return math.ceil(cfg.warmup * cfg.epochs)


@dataclass
class FitResult:
    """What a fit leaves: the per-epoch history and the weights of the epoch it kept."""

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
    augment: CtAugment | None = None,
) -> tuple[float, float]:
    net.train()
    total, count, data_s = 0.0, 0, 0.0
    if augment is not None:
        augment.start_epoch(cfg.seed + 7 * world.rank, epoch)
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
        if augment is not None and "ct" in batch:
            batch["ct"] = augment(batch["ct"])
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
    own = getattr(unwrap(net), "validation_loss", None)  # a Cox model's partial likelihood
    loss = float(own(logits, data)) if own else float(F.cross_entropy(logits, data.labels))
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
        opt, max_lr=cfg.lr, total_steps=total, pct_start=cfg.warmup, anneal_strategy="cos"
    )
    return opt, sched


def selection_score(history: list[list], cfg: TrainConfig) -> float:
    """How good the last epoch of `history` (rows in HISTORY_COLUMNS order) is; higher is better.

    `Selection.VAL_LOSS`: minus the validation cross-entropy. `Selection.VAL_AUC_SMOOTH`: the
    mean validation AUC of the last SMOOTH_EPOCHS epochs: about 50 validation patients give an
    epoch's AUC an sd near 0.07, and a near-prior model wins the cross-entropy while it ranks
    poorly, so one lucky epoch, or an untrained one, should not be what is kept.
    """
    val_loss, val_auc = (HISTORY_COLUMNS.index(c) for c in ("val_loss", "val_auc"))
    if cfg.select is Selection.VAL_LOSS:
        return -history[-1][val_loss]
    aucs = [row[val_auc] for row in history[-SMOOTH_EPOCHS:]]
    finite = [a for a in aucs if not math.isnan(a)]
    return float(np.mean(finite)) if finite else -math.inf


def _keep_or_count(st: dict, net: nn.Module, score: float, cfg: TrainConfig) -> None:
    """Keep this epoch's weights if it scores best so far, else count it against the patience;
    an epoch before cfg.min_epochs does neither (the last epoch always may: a fit keeps one)."""
    if st["epoch"] < min(cfg.min_epochs, cfg.epochs - 1):
        return
    if score > st["best_score"]:
        st.update(best_score=score, best_epoch=st["epoch"], bad=0, best_state=cpu_state(net))
    else:
        st["bad"] += 1


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
    """Train `model` on `train`, keep the weights of the epoch that `cfg.select` scores best.

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
    augment = CtAugment() if cfg.augment else None
    st = {
        "epoch": 0,
        "best_score": -math.inf,
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
            net, opt, sched, scaler, train, cfg, world, st["epoch"], device, augment
        )
        val_loss, val_auc, _ = _validate(net, val, device, cfg)
        st["history"].append(
            [st["epoch"], train_loss, val_loss, val_auc, lr, time.perf_counter() - t0, data_s]
        )
        _keep_or_count(st, net, selection_score(st["history"], cfg), cfg)
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
