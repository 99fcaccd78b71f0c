"""`python -m tmiclnet bench models`: MultiBench's cost axis for every catalogue model.

Parameters, forward+backward seconds per training batch (median of repeats after one warm-up),
and peak memory of that step: on CUDA `torch.cuda.max_memory_allocated`; on CPU the peak of the
running sum of the tensor allocations the torch profiler records (tracemalloc cannot see torch's
allocator). Inputs are random tensors of the profile's sizes: cached CT tokens, scaled radiomics,
cached text token states, as the cpu profile trains; one extra row times the CT encoder on volumes.
"""

from __future__ import annotations

import argparse
import statistics
import time

import pandas as pd
import torch

from tmiclnet.config import get_profile
from tmiclnet.device import describe, pick_device
from tmiclnet.models import build, catalogue, model_config
from tmiclnet.models.encoders import CTBackbone, equal_groups


def synthetic_batch(
    profile,
    batch_size: int,
    rad_features: int,
    n_families: int,
    device,
    volume: bool = False,
    seed: int = 0,
) -> tuple[dict, dict]:
    """(batch, build config) of the profile's sizes, filled with seeded random numbers."""
    g = torch.Generator().manual_seed(seed)
    backbone = CTBackbone(
        profile.ct_depth,
        profile.ct_widen,
        profile.ct_conv1_stride,
        profile.ct_channels_last,
        profile.ct_conv1_size,
    )
    shape = (batch_size, 1, *profile.volume_shape)
    with torch.no_grad():
        n_tokens = backbone(torch.zeros(1, 1, *profile.volume_shape)).shape[1]
    b = {
        "radiomics": torch.randn(batch_size, rad_features, generator=g),
        "text_tokens": torch.randn(batch_size, profile.text_max_tokens, 384, generator=g),
        "text_mask": torch.ones(batch_size, profile.text_max_tokens, dtype=torch.bool),
        "present": torch.ones(batch_size, 3, dtype=torch.bool),
        "label": torch.arange(batch_size) % 2,
    }
    if volume:
        b["ct"] = torch.rand(shape, generator=g)
    else:
        b["ct_tokens"] = torch.randn(batch_size, n_tokens, backbone.out_dim, generator=g)
    cfg = model_config(
        profile,
        rad_features=rad_features,
        rad_families=equal_groups(rad_features, n_families),
        text_dim=384,
        use_text_tokens=True,
        use_ct_tokens=not volume,
    )
    return {k: v.to(device) for k, v in b.items()}, cfg


def _step(model, batch) -> None:
    model.zero_grad(set_to_none=True)
    model.loss(model(batch), batch["label"]).backward()


def _cpu_peak_bytes(model, batch) -> int:
    with torch.profiler.profile(
        activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True
    ) as prof:
        _step(model, batch)
    # each op's own allocations (+) and the profiler's "[memory]" free events (-), in time order
    events = sorted(
        (e for e in prof.events() if e.self_cpu_memory_usage), key=lambda e: e.time_range.start
    )
    running = peak = 0
    for e in events:
        running += e.self_cpu_memory_usage
        peak = max(peak, running)
    return peak


def measure(model, batch, device, repeats: int = 3) -> dict:
    """Parameters, median fwd+bwd seconds and peak step memory (MiB) of one model."""
    model.to(device).train()
    _step(model, batch)  # warm-up
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t = time.perf_counter()
        _step(model, batch)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - t)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        _step(model, batch)
        peak = torch.cuda.max_memory_allocated(device) - base
    else:
        peak = _cpu_peak_bytes(model, batch)
    return {
        "parameters": sum(p.numel() for p in model.parameters()),
        "trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "seconds_per_batch": statistics.median(times),
        "peak_mib": peak / 2**20,
    }


def table(
    profile_name: str = "cpu",
    batch_size: int | None = None,
    rad_features: int = 1130,
    n_families: int = 40,
    device: str = "auto",
    repeats: int = 3,
    names: list[str] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per catalogue model (+ ct_only on volumes), at the profile's sizes."""
    profile, dev = get_profile(profile_name), pick_device(device)
    bs = batch_size or profile.batch_size
    rows = []
    jobs = [(n, False) for n in (names or catalogue()["name"].tolist())] + [("ct_only", True)]
    for name, volume in jobs:
        batch, cfg = synthetic_batch(profile, bs, rad_features, n_families, dev, volume, seed)
        torch.manual_seed(seed)
        row = {
            "model": name + (" (CT volumes)" if volume else ""),
            **measure(build(name, **cfg), batch, dev, repeats),
        }
        rows.append(row)
        print(f"  {row['model']:<26} {row['seconds_per_batch']:.3f} s", flush=True)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tmiclnet bench models", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the profile's")
    parser.add_argument("--rad-features", type=int, default=1130)
    parser.add_argument("--families", type=int, default=40)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", nargs="*", default=None, help="catalogue names (default: all)")
    parser.add_argument("--csv", default=None, help="also write the table here")
    args = parser.parse_args(argv)
    dev = pick_device(args.device)
    print(
        f"profile {args.profile}, device {describe(dev)}, torch threads {torch.get_num_threads()}"
    )
    df = table(
        args.profile,
        args.batch_size,
        args.rad_features,
        args.families,
        args.device,
        args.repeats,
        args.models,
    )
    df["parameters"] = df["parameters"].map("{:,}".format)
    df["trainable"] = df["trainable"].map("{:,}".format)
    print(df.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if args.csv:
        df.to_csv(args.csv, index=False)
    return 0
