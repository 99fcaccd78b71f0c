"""The training loop: resume is bit-exact, shuffled labels learn nothing, DDP equals one process."""

from __future__ import annotations

import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from tests.train.tiny import Tiny, ddp_worker, fit_tiny, synthetic
from tmiclnet.inputs import folds
from tmiclnet.train.ddp import World
from tmiclnet.train.trainer import TrainConfig, auc, epoch_batches, fit, predict, probabilities

CPU = torch.device("cpu")


pytestmark = pytest.mark.usefixtures("one_thread")


def test_resume_after_interruption_equals_uninterrupted_run(tmp_path) -> None:
    full, full_model = fit_tiny(tmp_path / "full.pt", 8)
    part, _ = fit_tiny(tmp_path / "cut.pt", 8, stop_after=3)
    assert not part.completed and len(part.history) == 3
    torch.manual_seed(1234)  # the resumed process starts with other random state
    np.random.seed(1234)
    resumed, resumed_model = fit_tiny(tmp_path / "cut.pt", 8)
    assert resumed.completed and resumed.best_epoch == full.best_epoch
    for k, v in full_model.state_dict().items():
        assert torch.equal(v, resumed_model.state_dict()[k]), k  # bit-exact on CPU
    for k, v in full.best_state.items():
        assert torch.equal(v, resumed.best_state[k]), k
    cols = ["train_loss", "val_loss", "val_auc"]
    np.testing.assert_array_equal(full.history[cols].to_numpy(), resumed.history[cols].to_numpy())


def test_checkpoint_with_another_key_is_not_resumed(tmp_path) -> None:
    fit_tiny(tmp_path / "c.pt", 8, stop_after=2)
    data = synthetic(120)
    torch.manual_seed(0)
    res = fit(
        Tiny(),
        data.subset(data.ids[:90]),
        data.subset(data.ids[90:]),
        TrainConfig(epochs=3, batch_size=16, lr=1e-2, seed=0),
        CPU,
        checkpoint=tmp_path / "c.pt",
        key="other",
    )
    assert len(res.history) == 3 and res.history["epoch"].tolist() == [0, 1, 2]


def _cv_auc(shuffle: bool) -> float:
    """Pooled test AUC of 5-fold CV with validation-based early stopping."""
    data = synthetic(300, seed=5)
    labels = data.labels.clone()
    if shuffle:
        labels = labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(9))]
    import pandas as pd

    from tmiclnet.inputs.tensors import TensorData

    data = TensorData(data.ids, data.inputs, labels)
    table = folds.make_folds(pd.Series(labels.numpy(), index=data.ids), 5, seed=0)
    ys, ps = [], []
    for k in range(5):
        s = folds.split(table, k, 0.2, seed=0)
        torch.manual_seed(k)
        model = Tiny()
        fit(
            model,
            data.subset(s.train),
            data.subset(s.val),
            TrainConfig(epochs=8, batch_size=64, lr=2e-2, patience=3, seed=k),
            CPU,
        )
        test = data.subset(s.test)
        ys.append(test.labels.numpy())
        ps.append(probabilities(predict(model, test, CPU)))
    return auc(np.concatenate(ys), np.concatenate(ps))


def test_shuffled_labels_give_chance_auc_and_true_labels_do_not() -> None:
    assert _cv_auc(shuffle=False) > 0.8
    assert abs(_cv_auc(shuffle=True) - 0.5) < 0.12  # null sd ~0.035 at n=300


def test_process_shares_make_up_the_global_batches() -> None:
    cfg = TrainConfig(batch_size=16, seed=2)
    one = epoch_batches(64, cfg, World(0, 1), epoch=3)
    two = [epoch_batches(64, cfg, World(r, 2), epoch=3) for r in range(2)]
    for k, batch in enumerate(one):
        assert sorted(batch.tolist()) == sorted(two[0][k].tolist() + two[1][k].tolist())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_two_cpu_processes_equal_one_process(tmp_path) -> None:
    out = tmp_path / "ddp.pt"
    # fork: the children inherit the imported modules instead of importing torch again
    mp.start_processes(
        ddp_worker, args=(2, _free_port(), str(out), 4), nprocs=2, join=True, start_method="fork"
    )
    ddp = torch.load(out, weights_only=False)
    data = synthetic(80)
    torch.manual_seed(0)
    model = Tiny(dropout=0.0)
    single = fit(
        model,
        data.subset(data.ids[:64]),
        data.subset(data.ids[64:]),
        TrainConfig(epochs=4, batch_size=16, lr=1e-2, patience=100, seed=3),
        CPU,
    )
    for k, v in model.state_dict().items():
        torch.testing.assert_close(ddp["final"][k], v, rtol=1e-5, atol=1e-6)
    # the check can fail: after training the weights are far from where they started
    torch.manual_seed(0)
    start = Tiny(dropout=0.0).state_dict()
    assert any((start[k] - v).abs().max() > 1e-2 for k, v in model.state_dict().items())
    np.testing.assert_allclose(ddp["history"]["val_loss"], single.history["val_loss"], rtol=1e-5)


def test_modality_dropout_keeps_one_modality_and_is_reproducible() -> None:
    from tmiclnet.inputs.tensors import modality_dropout_mask

    mods = ("radiomics", "text")
    a = modality_dropout_mask(4000, mods, 0.3, seed=1, epoch=2)
    assert torch.equal(a, modality_dropout_mask(4000, mods, 0.3, seed=1, epoch=2))
    assert not torch.equal(a, modality_dropout_mask(4000, mods, 0.3, seed=1, epoch=3))
    assert bool(a[:, 0].all())  # CT is not the model's: never touched
    assert bool(a[:, 1:].any(1).all())  # every row keeps a modality
    dropped = 1 - a[:, 1:].float().mean().item()
    assert 0.2 < dropped < 0.3  # p = 0.3, minus the rows that were given one back
    assert bool(
        modality_dropout_mask(50, ("ct",), 0.5, 0, 0).all()
    )  # one modality: nothing to drop
    assert bool(modality_dropout_mask(50, mods, 0.0, 0, 0).all())
