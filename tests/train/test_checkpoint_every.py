"""Checkpoints every so many seconds (the cpu profile's setting) keep resume bit for bit."""

from __future__ import annotations

import pytest
import torch

from tests.train.tiny import fit_tiny
from tmiclnet.train import trainer

pytestmark = pytest.mark.usefixtures("one_thread")


def test_sparse_checkpoints_still_resume_bit_for_bit(tmp_path, monkeypatch) -> None:
    saves = []
    real = trainer.save_checkpoint
    monkeypatch.setattr(trainer, "save_checkpoint", lambda p, d: (saves.append(p), real(p, d)))
    full, full_model = fit_tiny(tmp_path / "full.pt", 6, checkpoint_every=1e9)
    assert saves == []  # an hour between checkpoints: none within a few-second fit
    part, _ = fit_tiny(tmp_path / "cut.pt", 6, checkpoint_every=1e9, stop_after=4)
    assert len(part.history) == 4 and saves == [tmp_path / "cut.pt"]  # saved when stopped
    resumed, resumed_model = fit_tiny(tmp_path / "cut.pt", 6, checkpoint_every=1e9)
    assert resumed.completed and resumed.history["epoch"].tolist() == list(range(6))
    for k, v in full_model.state_dict().items():
        assert torch.equal(v, resumed_model.state_dict()[k]), k
