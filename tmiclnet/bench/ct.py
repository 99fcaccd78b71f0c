"""The CT encoder's training throughput (volumes per second, forward + backward) under levers.

`variants` times one training step of the CT-only model per lever setting (threads, memory format,
batch size, first-layer stride and kernel, width, input size) in this process, the settings
interleaved repeat by repeat so that a burst of load on the shared machine hits them all alike.
`pooled` times the pooled schedule's setting: several single-threaded workers stepping at once.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import time

import torch
import torch.nn.functional as F

from tmiclnet.config import Profile


@dataclasses.dataclass(frozen=True)
class Lever:
    """One CT-encoder setting; None keeps the profile's value."""

    label: str
    threads: int | None = None
    channels_last: bool | None = None
    batch_size: int | None = None
    conv1_stride: int | None = None
    conv1_size: int | None = None
    widen: float | None = None
    scale: float = 1.0  # input size, per axis, relative to the profile's volume shape


def _model_and_batch(profile: Profile, lever: Lever, volumes: torch.Tensor):
    from tmiclnet.models import build, model_config

    cfg = model_config(profile, use_ct_tokens=False)
    for key, value in (
        ("ct_channels_last", lever.channels_last),
        ("ct_conv1_stride", lever.conv1_stride),
        ("ct_conv1_size", lever.conv1_size),
        ("ct_widen", lever.widen),
    ):
        if value is not None:
            cfg[key] = value
    torch.manual_seed(0)
    model = build("ct_only", **cfg).train()
    bs = lever.batch_size or profile.batch_size
    ct = volumes[:bs].float()
    if lever.scale != 1.0:
        ct = F.interpolate(ct, scale_factor=lever.scale, mode="trilinear")
    batch = {
        "ct": ct,
        "present": torch.ones(len(ct), 3, dtype=torch.bool),
        "label": torch.arange(len(ct)) % 2,
    }
    return model, batch


def _step(model, batch) -> float:
    t = time.perf_counter()
    model.zero_grad(set_to_none=True)
    model.loss(model(batch), batch["label"]).backward()
    return time.perf_counter() - t


def variants(
    profile: Profile, volumes: torch.Tensor, levers: list[Lever], repeats: int = 3
) -> list[dict]:
    """Median volumes/s of each lever, measured interleaved in this process.

    Args:
        profile: the profile whose CT encoder and batch size are the baseline.
        volumes: (N,1,D,H,W) real volumes, N >= the largest batch.
        levers: settings to compare.
        repeats: timed steps per setting (after one warm-up step each).
    """
    before = torch.get_num_threads()
    built = [_model_and_batch(profile, lv, volumes) for lv in levers]
    times: list[list[float]] = [[] for _ in levers]
    try:
        for r in range(repeats + 1):
            for i, (lever, (model, batch)) in enumerate(zip(levers, built)):
                torch.set_num_threads(lever.threads or before)
                t = _step(model, batch)
                if r:  # the first round warms up oneDNN's kernels
                    times[i].append(t)
    finally:
        torch.set_num_threads(before)
    rows = []
    for lever, (_, batch), ts in zip(levers, built, times):
        sec = statistics.median(ts)
        rows.append(
            {
                "lever": lever.label,
                "threads": lever.threads or before,
                "batch": len(batch["ct"]),
                "s_per_step": sec,
                "volumes_per_s": len(batch["ct"]) / sec,
            }
        )
    return rows


def _worker_steps(profile: Profile, volumes: torch.Tensor, steps: int) -> float:
    torch.set_num_threads(1)
    model, batch = _model_and_batch(profile, Lever("worker", threads=1), volumes)
    _step(model, batch)
    return sum(_step(model, batch) for _ in range(steps))


def pooled(profile: Profile, volumes: torch.Tensor, workers: int, steps: int = 3) -> dict:
    """Summed volumes/s of `workers` single-threaded processes stepping the CT-only model at once.

    Args:
        profile: the profile (its CT encoder settings, batch size).
        volumes: real volumes, at least one batch.
        workers: processes at once (the pooled schedule's n_jobs).
        steps: timed steps per worker (after one warm-up).
    """
    from tmiclnet.train.jobs import executor

    pool = executor(workers)
    batch = volumes[: profile.batch_size].clone()
    futures = [pool.submit(_worker_steps, profile, batch, steps) for _ in range(workers)]
    seconds = [f.result() for f in futures]
    rate = sum(len(batch) * steps / s for s in seconds)
    return {
        "lever": f"{workers} workers x 1 thread (pooled)",
        "threads": 1,
        "batch": len(batch),
        "s_per_step": statistics.mean(seconds) / steps,
        "volumes_per_s": rate,
    }


def load() -> str:
    """The 1/5/15-minute load averages, for the tables' headers."""
    return "load average " + ", ".join(f"{v:.2f}" for v in os.getloadavg())
