"""The cpu profile's speed levers reach the model and the optimizer, and the fused AdamW makes
the update the per-tensor loop makes (the same science, other rounding)."""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from tmiclnet.config import get_profile
from tmiclnet.models import build, model_config
from tmiclnet.train.trainer import TrainConfig, make_optimizer


def _cfg(profile, **extra) -> dict:
    return model_config(profile, rad_features=6, text_dim=8, **extra)


def test_profile_width_and_first_kernel_reach_the_model() -> None:
    cpu, gpu = get_profile("cpu"), get_profile("gpu")
    assert cpu.fusion_dim < gpu.fusion_dim == 256
    assert cpu.ct_conv1_size == 5 and gpu.ct_conv1_size == 7  # the cpu profile's lever
    model = build("tmiclnet_tokens", **_cfg(cpu, use_ct_tokens=False))
    assert model.encoders["text"].proj[0].out_features == cpu.fusion_dim
    assert model.tcaf.blocks[0].attn.embed_dim == cpu.fusion_dim
    assert model.encoders["ct"].backbone.net.conv1.kernel_size == (5, 5, 5)
    # the padding keeps the grid: the same number of CT tokens as MONAI's 7x7x7 first layer
    with torch.no_grad():
        x = torch.zeros(1, 1, *cpu.volume_shape)
        seven_cpu = dataclasses.replace(cpu, ct_conv1_size=7)
        seven = build("ct_only", **_cfg(seven_cpu, use_ct_tokens=False))
        assert seven.encoders["ct"].backbone.net.conv1.kernel_size == (7, 7, 7)
        assert model.encoders["ct"].backbone(x).shape == seven.encoders["ct"].backbone(x).shape


def test_fused_flag_reaches_adamw() -> None:
    net = nn.Linear(3, 2)
    for fused in (True, False):
        cfg = TrainConfig.from_profile(get_profile("cpu"), 0, fused=fused)
        opt, _ = make_optimizer(net, cfg, steps_per_epoch=4)
        assert bool(opt.defaults.get("fused")) is fused
    assert TrainConfig.from_profile(get_profile("cpu"), 0).fused


def test_fused_adamw_matches_the_per_tensor_loop() -> None:
    def trained(fused: bool) -> list[torch.Tensor]:
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 2))
        cfg = TrainConfig(epochs=4, fused=fused)
        opt, sched = make_optimizer(net, cfg, steps_per_epoch=5)
        g = torch.Generator().manual_seed(1)
        for _ in range(10):
            x, y = torch.randn(8, 5, generator=g), torch.randint(2, (8,), generator=g)
            opt.zero_grad()
            nn.functional.cross_entropy(net(x), y).backward()
            opt.step()
            sched.step()
        return [p.detach().clone() for p in net.parameters()]

    fused, loop = trained(True), trained(False)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(fused, loop))
    assert all(torch.equal(a, b) for a, b in zip(fused, trained(True)))  # run to run: bit for bit
