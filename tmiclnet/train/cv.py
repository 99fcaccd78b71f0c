"""Cross-validation of catalogue models: same folds for all, results saved per (model, fold).

For each fold the inputs are assembled once (radiomics scaled on that fold's training rows), then
each model is built, trained with early stopping on the validation split, and its validation and
test predictions, threshold (Youden's J on validation), history, checkpoint and done.json are
written. A (model, fold) whose done.json carries the same config hash is skipped, unless
`retrain`. With `profile.ct_strategy == "cached"` the CT encoder is trained once per fold (the
CT-only model) and its feature-map tokens feed every other model that sees CT.
"""

from __future__ import annotations

import io
import time
from dataclasses import asdict
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_curve
from torch import nn

from tmiclnet.config import Run
from tmiclnet.device import peak_memory_mib, reset_peak_memory, seed_everything
from tmiclnet.provenance import atomic_write_bytes, atomic_write_text
from tmiclnet.train import folds as folds_mod
from tmiclnet.train import results as res
from tmiclnet.train.ddp import SINGLE, World, barrier
from tmiclnet.train.features import CohortInputs, FoldInputs, fold_inputs, load_inputs
from tmiclnet.train.tensors import TensorData
from tmiclnet.train.trainer import TrainConfig, auc, fit, predict, probabilities, save_checkpoint

THRESHOLD_RULE = "youden"


def choose_threshold(labels, probs) -> dict:
    """The probability cut maximising Youden's J (sensitivity + specificity - 1) on validation."""
    labels, probs = np.asarray(labels), np.asarray(probs)
    if len(np.unique(labels)) < 2:
        return {"threshold": 0.5, "rule": "default (one class in validation)", "youden_j": None}
    fpr, tpr, cuts = roc_curve(labels, probs)
    j = tpr - fpr
    best = int(np.argmax(j))
    cut = float(min(cuts[best], 1.0))  # roc_curve's first cut is +inf
    return {
        "threshold": cut,
        "rule": THRESHOLD_RULE,
        "youden_j": float(j[best]),
        "n_val": int(len(labels)),
    }


def _catalogue_modalities() -> dict[str, tuple[str, ...]]:
    from tmiclnet.models import catalogue

    table = catalogue()
    out = {}
    for name, mods in zip(table["name"], table["modalities"]):
        if isinstance(mods, str):
            mods = [m.strip() for m in mods.replace("+", ",").split(",") if m.strip()]
        out[str(name)] = tuple(mods)
    return out


def ct_only_name(catalogue_mods: dict[str, tuple[str, ...]]) -> str:
    """The catalogue's CT-only model: it trains the CT encoder whose tokens are cached."""
    names = [n for n, m in catalogue_mods.items() if tuple(m) == ("ct",)]
    if not names:
        raise ValueError("the catalogue has no CT-only model; use ct_strategy='end_to_end'")
    return names[0]


def model_inputs(data: TensorData, modalities, ct_tokens: torch.Tensor | None) -> TensorData:
    """Only the tensors a model reads (indexing unused CT volumes would waste loading time)."""
    keep = {"present": data.inputs["present"]}
    for key in ("radiomics", "text", "text_tokens", "text_mask"):
        if key in data.inputs and (
            ("text" in modalities) if key.startswith("text") else key in modalities
        ):
            keep[key] = data.inputs[key]
    if "ct" in modalities:
        if ct_tokens is not None:
            keep["ct_tokens"] = ct_tokens
        else:
            keep["ct"] = data.inputs["ct"]
    return TensorData(data.ids, keep, data.labels)


def build_config(fin: FoldInputs, inputs: CohortInputs, run: Run, use_ct_tokens: bool) -> dict:
    """Keyword arguments of tmiclnet.models.build for this fold's inputs and the profile."""
    from tmiclnet.models import model_config

    extra: dict = {"use_ct_tokens": use_ct_tokens}
    if fin.rad_columns:
        extra.update(rad_features=len(fin.rad_columns), rad_families=fin.rad_families)
    if "text_dim" in inputs.info:
        extra["text_dim"] = inputs.info["text_dim"]
    return model_config(run.profile, **extra)


@torch.no_grad()
def extract_ct_tokens(
    model: nn.Module, ct: torch.Tensor, device: torch.device, batch_size: int = 16
) -> torch.Tensor:
    """Raw feature-map tokens (N, cells, C) of the trained CT backbone for every volume."""
    from tmiclnet.models.encoders import CTBackbone

    backbones = [m for m in model.modules() if isinstance(m, CTBackbone)]
    if len(backbones) != 1:
        raise ValueError(f"expected one CTBackbone in the CT-only model, found {len(backbones)}")
    backbone = backbones[0].to(device).eval()
    return torch.cat([backbone(chunk.to(device)).float().cpu() for chunk in ct.split(batch_size)])


def _fold_key(
    name: str,
    config: dict,
    fin: FoldInputs,
    inputs: CohortInputs,
    run: Run,
    cfg: TrainConfig,
    ct_source: str,
) -> str:
    return res.config_hash(
        {
            "model": name,
            "code": res.code_hash(),
            "build": config,
            "train": asdict(cfg),
            "profile": run.profile.name,
            "split": asdict(fin.split),
            "inputs": inputs.info,
            "ct_source": ct_source,
            "volume_shape": run.profile.volume_shape,
            "val_fraction": run.profile.val_fraction,
        }
    )


def train_fold(
    name: str,
    modalities,
    config: dict,
    data: TensorData,
    fin: FoldInputs,
    run: Run,
    folder: Path,
    key: str,
    world: World,
    retrain: bool,
) -> tuple[dict, nn.Module | None]:
    """Train one (model, fold) unless done; write its results. Returns (summary row, model)."""
    from tmiclnet.models import build

    row = {"model": name, "fold": fin.split.fold}
    if not retrain and res.is_done(folder, key):
        return {**row, "status": "skipped", **res.read_json(folder / "done.json")["timing"]}, None
    if retrain and world.main and (folder / "checkpoint.pt").exists():
        (folder / "checkpoint.pt").unlink()
    barrier(world)
    cfg = TrainConfig.from_profile(run.profile, run.seed + fin.split.fold)
    seed_everything(run.seed + fin.split.fold)
    model = build(name, **config)
    train, val, test = (
        data.subset(fin.split.train),
        data.subset(fin.split.val),
        data.subset(fin.split.test),
    )
    reset_peak_memory(run.device)
    t0 = time.perf_counter()
    result = fit(
        model,
        train,
        val,
        cfg,
        run.device,
        checkpoint=folder / "checkpoint.pt",
        key=key,
        world=world,
        desc=f"{name} fold {fin.split.fold}",
        checkpoint_every=run.profile.checkpoint_every_s,
    )
    seconds = time.perf_counter() - t0
    model.load_state_dict(result.best_state)
    probs = {
        s: probabilities(predict(model, d, run.device, amp=cfg.amp))
        for s, d in (("val", val), ("test", test))
    }
    threshold = choose_threshold(val.labels.numpy(), probs["val"])
    h = result.history
    timing = {
        "seconds": round(seconds, 3),
        "epochs": int(len(h)),
        "epoch_seconds": round(float(h["seconds"].mean()), 4) if len(h) else None,
        "data_fraction": round(float(h["data_seconds"].sum() / max(h["seconds"].sum(), 1e-9)), 4),
    }
    if (peak := peak_memory_mib(run.device)) is not None:
        timing["peak_gpu_mib"] = peak
    if world.main:
        preds = pd.concat(
            [
                pd.DataFrame({"id": d.ids, "label": d.labels.numpy(), "prob": probs[s], "split": s})
                for s, d in (("val", val), ("test", test))
            ]
        )
        res.write_json(folder / "threshold.json", threshold)
        atomic_write_text(folder / "predictions.csv", preds.to_csv(index=False))
        atomic_write_text(folder / "history.csv", h.to_csv(index=False))
        # once done, the checkpoint keeps what evaluation needs: the best weights and how to build
        # the model (the optimizer state, 2x the weights, is dropped)
        save_checkpoint(
            folder / "checkpoint.pt",
            {
                "key": key,
                "model": result.best_state,
                "model_name": name,
                "build_config": config,
                "best_epoch": result.best_epoch,
            },
        )
        res.write_json(
            folder / "done.json",
            {
                "model": name,
                "fold": fin.split.fold,
                "modalities": list(modalities),
                "config": {
                    "build": config,
                    "train": asdict(cfg),
                    "profile": run.profile.name,
                    "inputs": sorted(data.inputs),
                },
                "config_hash": key,
                "timing": timing,
                "best_epoch": result.best_epoch,
                "device": str(run.device),
                "world_size": world.size,
                "test_auc": auc(test.labels.numpy(), probs["test"]),
            },
        )
    barrier(world)
    return {**row, "status": "trained", **timing}, model


def run_cv(
    cohort_path: str | Path,
    models: list[str],
    run: Run,
    retrain: bool = False,
    results_dir: str | Path | None = None,
    folds: list[int] | None = None,
    world: World = SINGLE,
) -> pd.DataFrame:
    """Train `models` (catalogue names) on every fold of the cohort; one summary row per (model, fold)."""
    from tmiclnet.data.cohort import load

    cohort = load(cohort_path)
    results_dir = Path(results_dir) if results_dir else res.results_root(run.data_dir)
    mods = _catalogue_modalities()
    unknown = [m for m in models if m not in mods]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; the catalogue has {sorted(mods)}")
    want = set().union(*(mods[m] for m in models))
    if "ct" in want and run.profile.ct_strategy == "cached":
        want |= set(mods[ct_only_name(mods)])
    inputs = load_inputs(cohort, run.profile, want, results_dir.parent / "cache")
    return cross_validate(
        inputs, cohort.name, cohort.labels, models, run, results_dir, retrain, folds, world
    )


def cross_validate(
    inputs: CohortInputs,
    cohort_name: str,
    labels: pd.Series,
    models: list[str],
    run: Run,
    results_dir: str | Path,
    retrain: bool = False,
    folds: list[int] | None = None,
    world: World = SINGLE,
) -> pd.DataFrame:
    """The CV loop on inputs already assembled (run_cv's body; tests call it on synthetic inputs)."""
    results_dir = Path(results_dir)
    mods = _catalogue_modalities()
    cached = run.profile.ct_strategy == "cached" and any("ct" in mods[m] for m in models)
    ct_name = ct_only_name(mods) if cached else None
    order = ([ct_name] if cached else []) + [m for m in models if m != ct_name]
    table = folds_mod.load_or_make_folds(
        res.folds_path(results_dir, cohort_name), labels, run.profile.folds, run.seed
    )
    ctx = JobContext(inputs, cohort_name, mods, cached, ct_name, run, results_dir, world, retrain)
    fins = [
        (
            k,
            fold_inputs(
                inputs, folds_mod.split(table, k, run.profile.val_fraction, run.seed), run.profile
            ),
        )
        for k in (folds if folds is not None else range(run.profile.folds))
    ]
    if pooled(run, world):
        from tmiclnet.train.pool import train_pooled

        rows = train_pooled(fins, order, ctx, parallel_jobs(run, world, 2), desc=cohort_name)
    else:
        rows = [row for k, fin in fins for row in _train_fold_models(k, fin, order, ctx)]
    return pd.DataFrame([{**row, "requested": row["model"] in models} for row in rows])


class JobContext(NamedTuple):
    """What every (model, fold) job of one cross_validate call shares."""

    inputs: CohortInputs
    cohort_name: str
    mods: dict
    cached: bool
    ct_name: str | None
    run: Run
    results_dir: Path
    world: World
    retrain: bool


def make_job(
    name: str, k: int, fin: FoldInputs, ct_tokens: torch.Tensor | None, ct_source: str, ctx
) -> FoldJob:
    """The job of model `name` on fold `k` (CT models read `ct_tokens` when cached)."""
    run, mods = ctx.run, ctx.mods
    use_tokens = ctx.cached and name != ctx.ct_name and "ct" in mods[name]
    config = build_config(fin, ctx.inputs, run, use_ct_tokens=use_tokens)
    if use_tokens:
        config["ct_token_dim"] = int(ct_tokens.shape[-1])
    data = model_inputs(fin.data, mods[name], ct_tokens if use_tokens else None)
    src = ct_source if use_tokens else "volumes"
    cfg = TrainConfig.from_profile(run.profile, run.seed + k)
    key = _fold_key(name, config, fin, ctx.inputs, run, cfg, src)
    folder = res.fold_dir(ctx.results_dir, ctx.cohort_name, name, k)
    # the job carries this model's tensors only: fin.data holds every modality (the CT
    # volumes too), which a worker process would otherwise receive for every model
    light = FoldInputs(data, fin.split, fin.rad_families, fin.rad_columns)
    return FoldJob(name, mods[name], config, data, light, run, folder, key, ctx.world, ctx.retrain)


def _train_fold_models(k: int, fin: FoldInputs, order: list[str], ctx: JobContext) -> list[dict]:
    """The per-fold schedule: the CT-only model first, here, then the others of this fold."""
    rows, jobs = [], []
    ct_tokens, ct_source = None, "volumes"
    for name in order:
        job = make_job(name, k, fin, ct_tokens, ct_source, ctx)
        if name == ctx.ct_name and ctx.cached:  # its tokens feed the others: train it first, here
            row, model = train_fold(*job)
            rows.append(row)
            ct_tokens, ct_source = _ct_tokens(model, job.folder, job.key, fin, ctx.run, ctx.world)
        else:
            jobs.append(job)
    return rows + _train_many(jobs, ctx.run, ctx.world, desc=f"{ctx.cohort_name} fold {k}")


def pooled(run: Run, world: World) -> bool:
    """Whether the folds' jobs share one pool of single-threaded workers (tmiclnet.train.pool):
    the profile asks for it and parallel_jobs allows more than one worker."""
    return run.profile.train_schedule == "pooled" and parallel_jobs(run, world, 2) > 1


class FoldJob(NamedTuple):
    """train_fold's arguments for one (model, fold), in its order."""

    name: str
    modalities: tuple
    config: dict
    data: TensorData
    fin: FoldInputs
    run: Run
    folder: Path
    key: str
    world: World
    retrain: bool

    def pending(self) -> bool:
        """Whether train_fold will train (True) rather than read results already done."""
        return self.retrain or not res.is_done(self.folder, self.key)


def _train_in_worker(job: FoldJob) -> dict:
    """One (model, fold) in a joblib worker, single-threaded so that workers share the cores."""
    torch.set_num_threads(1)
    return train_fold(*job)[0]


def parallel_jobs(run: Run, world: World, n_models: int) -> int:
    """How many models of a fold train at once: the profile's n_jobs on a CPU, else one.

    Small models use two CPU threads poorly; two single-threaded processes keep both cores
    busy. On a GPU, or under DDP, models train one after the other."""
    if run.device.type != "cpu" or world.size > 1 or n_models < 2:
        return 1
    return max(1, min(int(run.profile.n_jobs), n_models))


def _train_many(jobs: list[FoldJob], run: Run, world: World, desc: str) -> list[dict]:
    """Rows of train_fold for each job, in order; pending ones in parallel workers when
    parallel_jobs says so (done ones just read their results, here)."""
    n = parallel_jobs(run, world, len(jobs))
    if n == 1:
        return [train_fold(*job)[0] for job in jobs]
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    todo = [i for i, job in enumerate(jobs) if job.pending()]
    rows = [None if i in todo else train_fold(*job)[0] for i, job in enumerate(jobs)]
    results = Parallel(n_jobs=n, return_as="generator")(
        delayed(_train_in_worker)(jobs[i]) for i in todo
    )
    for i, row in tqdm(zip(todo, results), total=len(todo), desc=desc, unit="model"):
        rows[i] = row
    return rows


def _ct_tokens(
    model: nn.Module | None, folder: Path, key: str, fin: FoldInputs, run: Run, world: World
) -> tuple[torch.Tensor, str]:
    """The fold's cached CT tokens (keyed by the CT-only model's config hash), made if absent."""
    path = folder / "ct_tokens.pt"
    if path.exists():
        saved = torch.load(path, map_location="cpu", weights_only=True)
        if saved.get("key") == key:
            return saved["tokens"], f"ct_tokens:{key[:16]}"
    if model is None:  # trained earlier: rebuild it from its checkpoint
        from tmiclnet.models import build

        ckpt = torch.load(folder / "checkpoint.pt", map_location="cpu", weights_only=False)
        model = build(ckpt["model_name"], **ckpt["build_config"])
        model.load_state_dict(ckpt["model"])
    tokens = extract_ct_tokens(model, fin.data.inputs["ct"], run.device)
    if world.main:
        buf = io.BytesIO()
        torch.save({"key": key, "tokens": tokens}, buf)
        atomic_write_bytes(path, buf.getvalue())
    barrier(world)
    return tokens, f"ct_tokens:{key[:16]}"
