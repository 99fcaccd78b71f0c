"""Profiles, parameter resolution, device choice and seeding."""

from __future__ import annotations

import torch

from tmiclnet import config, device


def test_profiles_grow_from_quick_to_gpu() -> None:
    quick, cpu, gpu = (config.get_profile(n) for n in ("quick", "cpu", "gpu"))
    assert quick.n_patients is not None and cpu.n_patients is None
    assert torch.tensor(quick.volume_shape).prod() < torch.tensor(cpu.volume_shape).prod()
    assert torch.tensor(cpu.volume_shape).prod() <= torch.tensor(gpu.volume_shape).prod()
    assert quick.folds < cpu.folds and gpu.amp and not cpu.amp


def test_setup_resolves_data_dir_and_device(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TMICLNET_DATA", str(tmp_path))
    run = config.setup("quick", "", 3, "cpu")
    assert run.data_dir == tmp_path / "quick" and run.device == torch.device("cpu")
    assert config.setup("quick", str(tmp_path / "mine")).data_dir == tmp_path / "mine"


def test_seeding_is_reproducible() -> None:
    device.seed_everything(7)
    a = torch.randn(5)
    device.seed_everything(7)
    assert torch.equal(a, torch.randn(5))


def test_auto_device_and_autocast_on_cpu() -> None:
    dev = device.pick_device("auto")
    if not torch.cuda.is_available():
        assert dev.type in ("cpu", "mps")
        assert not device.amp_enabled(torch.device("cpu"))
        with device.autocast(torch.device("cpu")):
            assert (torch.ones(2) @ torch.ones(2)).dtype == torch.float32
