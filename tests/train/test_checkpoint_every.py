"""Checkpoints every so many seconds (the cpu profile's setting) keep resume bit for bit."""

from __future__ import annotations

import pytest
import torch

from tests.train.tiny import Tiny, synthetic
from tmiclnet.train import trainer
from tmiclnet.train.trainer import TrainConfig, fit

pytestmark = pytest.mark.usefixtures("one_thread")


def _fit(path, every: float, stop_after=None):
    data = synthetic(120)
    train, val = data.subset(data.ids[:90]), data.subset(data.ids[90:])
    torch.manual_seed(0)
    model = Tiny()
    cfg = TrainConfig(epochs=6, batch_size=16, lr=1e-2, patience=100, seed=0)
    kw = dict(checkpoint=path, key="k", stop_after=stop_after, checkpoint_every=every)
    return fit(model, train, val, cfg, torch.device("cpu"), **kw), model


def test_sparse_checkpoints_still_resume_bit_for_bit(tmp_path, monkeypatch) -> None:
    saves = []
    real = trainer.save_checkpoint
    monkeypatch.setattr(trainer, "save_checkpoint", lambda p, d: (saves.append(p), real(p, d)))
    full, full_model = _fit(tmp_path / "full.pt", every=1e9)
    assert saves == []  # an hour between checkpoints: none within a few-second fit
    part, _ = _fit(tmp_path / "cut.pt", every=1e9, stop_after=4)
    assert len(part.history) == 4 and saves == [tmp_path / "cut.pt"]  # saved when stopped
    resumed, resumed_model = _fit(tmp_path / "cut.pt", every=1e9)
    assert resumed.completed and resumed.history["epoch"].tolist() == list(range(6))
    for k, v in full_model.state_dict().items():
        assert torch.equal(v, resumed_model.state_dict()[k]), k
