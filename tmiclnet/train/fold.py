"""One (model, fold): build it, train it with early stopping, choose its threshold, save it.

`cross_validate` (tmiclnet.train.cv) makes a `FoldJob` per model and fold; `train_fold` runs one,
or reads its results when a finished fold with the same key exists. The key hashes everything that
shapes the result (model, build and train configs, the split, the inputs' content keys, the code),
so a changed setting trains again and an unchanged one is never trained twice.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import NamedTuple

import pandas as pd
from torch import nn

from tmiclnet import keys, results
from tmiclnet.config import Run
from tmiclnet.device import peak_memory_mib, reset_peak_memory, seed_everything
from tmiclnet.inputs.features import CohortInputs, FoldInputs
from tmiclnet.inputs.tensors import TensorData
from tmiclnet.threshold import choose_threshold
from tmiclnet.train.ddp import World, barrier
from tmiclnet.train.trainer import TrainConfig, auc, fit, predict, probabilities


def build_config(fin: FoldInputs, inputs: CohortInputs, run: Run, use_ct_tokens: bool) -> dict:
    """Keyword arguments of tmiclnet.models.build for this fold's inputs and the profile."""
    from tmiclnet.models import model_config

    extra: dict = {"use_ct_tokens": use_ct_tokens}
    if fin.rad_columns:
        extra.update(rad_features=len(fin.rad_columns), rad_families=fin.rad_families)
    if "text_dim" in inputs.info:
        extra["text_dim"] = inputs.info["text_dim"]
    return model_config(run.profile, **extra)


def train_config(name: str, run: Run, fold: int) -> TrainConfig:
    """The profile's training settings for `name` on `fold`: its CT-encoder settings (`ct_lr`,
    `ct_select`, ...) when the model trains a CT encoder, and what the catalogue entry fixes (a
    modality-dropout variant's p); the fold key hashes exactly this."""
    from tmiclnet.models.catalogue import train_overrides, trains_ct_encoder

    ct = trains_ct_encoder(name, run.profile)
    return TrainConfig.from_profile(run.profile, run.seed + fold, ct, **train_overrides(name))


def fold_key(
    name: str, config: dict, fin: FoldInputs, inputs: CohortInputs, run: Run, ct_source: str
) -> str:
    """The config hash of one (model, fold): what its done.json must carry to be reused."""
    train = train_config(name, run, fin.split.fold)
    return keys.config_hash(
        {
            "model": name,
            "code": keys.code_hash(),
            "build": config,
            "train": asdict(train),
            "profile": run.profile.name,
            "split": asdict(fin.split),
            "inputs": inputs.info,
            "ct_source": ct_source,
            "volume_shape": run.profile.volume_shape,
            "val_fraction": run.profile.val_fraction,
        }
    )


class FoldJob(NamedTuple):
    """Everything one (model, fold) needs; a worker process receives exactly this."""

    name: str
    modalities: tuple[str, ...]
    config: dict  # tmiclnet.models.build arguments
    fin: FoldInputs  # this model's tensors only, and the fold's split
    run: Run
    folder: Path
    key: str
    world: World
    retrain: bool

    def pending(self) -> bool:
        """Whether train_fold will train (True) rather than read results already done."""
        return self.retrain or not results.is_done(self.folder, self.key)


def _timing(seconds: float, history: pd.DataFrame, run: Run) -> dict:
    h = history
    timing = {
        "seconds": round(seconds, 3),
        "epochs": int(len(h)),
        "epoch_seconds": round(float(h["seconds"].mean()), 4) if len(h) else None,
        "data_fraction": round(float(h["data_seconds"].sum() / max(h["seconds"].sum(), 1e-9)), 4),
    }
    if (peak := peak_memory_mib(run.device)) is not None:
        timing["peak_gpu_mib"] = peak
    return timing


def _predictions(parts: dict[str, TensorData], probs: dict) -> pd.DataFrame:
    return pd.concat(
        [
            pd.DataFrame({"id": d.ids, "label": d.labels.numpy(), "prob": probs[s], "split": s})
            for s, d in parts.items()
        ]
    )


def train_fold(job: FoldJob) -> tuple[dict, nn.Module | None]:
    """Train one (model, fold) unless done; write its results. Returns (summary row, model)."""
    from tmiclnet.models import build

    name, fin, run, folder, key, world = job.name, job.fin, job.run, job.folder, job.key, job.world
    row = {"model": name, "fold": fin.split.fold}
    if not job.pending():
        return {
            **row,
            "status": "skipped",
            **results.read_done(folder).timing,
        }, None
    if job.retrain and world.main and (folder / "checkpoint.pt").exists():
        (folder / "checkpoint.pt").unlink()
    barrier(world)
    cfg = train_config(name, run, fin.split.fold)
    seed_everything(run.seed + fin.split.fold)
    model = build(name, **job.config)
    train, val, test = fin.parts()
    reset_peak_memory(run.device)
    t0 = time.perf_counter()
    desc = f"{name} fold {fin.split.fold}"
    ckpt = folder / "checkpoint.pt"
    every = run.profile.checkpoint_every_s
    result = fit(
        model, train, val, cfg, run.device, ckpt, key, world, desc=desc, checkpoint_every=every
    )
    seconds = time.perf_counter() - t0
    model.load_state_dict(result.best_state)
    parts = {"val": val, "test": test}
    probs = {s: probabilities(predict(model, d, run.device, amp=cfg.amp)) for s, d in parts.items()}
    timing = _timing(seconds, result.history, run)
    if world.main:
        done = {
            "model": name,
            "fold": fin.split.fold,
            "modalities": list(job.modalities),
            "config": {
                "build": job.config,
                "train": asdict(cfg),
                "profile": run.profile.name,
                "inputs": sorted(fin.data.inputs),
            },
            "config_hash": key,
            "code": keys.code_hash(),
            "timing": timing,
            "best_epoch": result.best_epoch,
            "device": str(run.device),
            "world_size": world.size,
            "test_auc": auc(test.labels.numpy(), probs["test"]),
        }
        # once done, the checkpoint keeps what evaluation needs: the best weights and how to build
        # the model (the optimizer state, 2x the weights, is dropped)
        checkpoint = {
            "key": key,
            "model": result.best_state,
            "model_name": name,
            "build_config": job.config,
            "best_epoch": result.best_epoch,
        }
        threshold = choose_threshold(val.labels.numpy(), probs["val"])
        results.write_fold(
            folder, _predictions(parts, probs), threshold, done, result.history, checkpoint
        )
    barrier(world)
    return {**row, "status": "trained", **timing}, model
