"""The CT encoder's training: its profile settings reach the CT-only model (normalisation,
learning rate, warm-up, selection rule, augmentation) and no other model; the selection rule keeps
the epoch it says; augmented training resumes bit for bit."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from tests.train.tiny import Tiny, ct_radiomics_inputs, synthetic
from tmiclnet import results
from tmiclnet.config import CtStrategy, Selection, setup
from tmiclnet.models import build, model_config
from tmiclnet.train import curves
from tmiclnet.train.cv import cross_validate
from tmiclnet.train.fold import train_config
from tmiclnet.train.trainer import (
    HISTORY_COLUMNS,
    SMOOTH_EPOCHS,
    TrainConfig,
    fit,
    selection_score,
    warmup_epochs,
)

pytestmark = pytest.mark.usefixtures("one_thread")
CPU = torch.device("cpu")
CT_SETTINGS = dict(
    ct_norm="group",
    ct_lr=3e-3,
    ct_warmup=0.25,
    ct_epochs=4,
    ct_patience=9,
    ct_min_epochs=2,
    ct_select="val_auc_smooth",
    ct_augment=True,
)


def _run(tmp_path, **changes):
    run = setup("quick", tmp_path, seed=0, device="cpu")
    profile = dataclasses.replace(run.profile, folds=2, epochs=3, **{**CT_SETTINGS, **changes})
    return run.replace(profile=profile)


def _norms(model: nn.Module) -> set[str]:
    backbone = model.encoders["ct"].backbone
    return {type(m).__name__ for m in backbone.modules() if "Norm" in type(m).__name__} - {
        "NormResNet"  # encoders.norm_resnet()
    }


@pytest.mark.parametrize(
    ("norm", "layer"), [("group", "GroupNorm"), ("instance", "InstanceNorm3d")]
)
def test_the_profile_norm_reaches_every_layer_of_the_ct_resnet(tmp_path, norm, layer) -> None:
    profile = _run(tmp_path, ct_norm=norm).profile
    model = build("ct_only", **model_config(profile))
    assert _norms(model) == {layer}  # the residual blocks and shortcuts too, not the stem only
    batch_norm = build("ct_only", **model_config(dataclasses.replace(profile, ct_norm="batch")))
    assert _norms(batch_norm) == {"BatchNorm3d"}


def test_ct_settings_apply_to_the_model_that_trains_the_ct_encoder_only(tmp_path) -> None:
    run = _run(tmp_path)
    ct = train_config("ct_only", run, 0)
    assert (ct.lr, ct.warmup, ct.epochs, ct.patience, ct.min_epochs) == (3e-3, 0.25, 4, 9, 2)
    assert ct.select is Selection.VAL_AUC_SMOOTH and ct.augment
    shared = TrainConfig.from_profile(run.profile, 0)
    for name in ("ct_radiomics", "radiomics_only", "tmiclnet_tokens"):  # read cached tokens
        assert train_config(name, run, 0) == shared, name
    end_to_end = run.replace(
        profile=dataclasses.replace(run.profile, ct_strategy=CtStrategy.END_TO_END)
    )
    assert train_config("ct_radiomics", end_to_end, 0).select is Selection.VAL_AUC_SMOOTH
    assert train_config("radiomics_only", end_to_end, 0) == shared


def test_a_cross_validation_trains_ct_only_with_them(tmp_path) -> None:
    run, out = _run(tmp_path), tmp_path / "results"
    inputs = ct_radiomics_inputs()
    labels = pd.Series(inputs.labels.numpy(), index=inputs.ids)
    cross_validate(inputs, "syn", labels, ["ct_only", "ct_radiomics"], run, out, folds=[0])
    ct = json.loads((results.fold_dir(out, "syn", "ct_only", 0) / "done.json").read_text())
    assert ct["config"]["build"]["ct_norm"] == "group"
    assert ct["config"]["train"]["select"] == "val_auc_smooth"
    assert ct["config"]["train"]["augment"] and ct["config"]["train"]["lr"] == 3e-3
    assert ct["best_epoch"] >= 2  # never before ct_min_epochs
    kept = curves.kept_epochs(out, "syn", "ct_only")  # the training page's check
    assert kept.loc[0, "kept epoch"] >= kept.loc[0, "warm-up ends"] == 1  # 0.25 x 4 epochs
    assert kept.loc[0, "kept by"] == "val_auc_smooth"
    net, _ = results.load_model(results.fold_dir(out, "syn", "ct_only", 0))
    assert _norms(net) == {"GroupNorm"}
    assert not any("running_mean" in k for k in net.state_dict())
    fusion = json.loads((results.fold_dir(out, "syn", "ct_radiomics", 0) / "done.json").read_text())
    assert fusion["config"]["train"]["select"] == "val_loss"
    assert not fusion["config"]["train"]["augment"] and fusion["config"]["train"]["lr"] == 1e-3


def _history(val_loss: list[float], val_auc: list[float]) -> list[list]:
    rows = []
    for e, (loss, a) in enumerate(zip(val_loss, val_auc)):
        row = dict.fromkeys(HISTORY_COLUMNS, 0.0)
        row.update(epoch=e, val_loss=loss, val_auc=a)
        rows.append([row[c] for c in HISTORY_COLUMNS])
    return rows


def test_smoothed_auc_is_not_fooled_by_a_near_prior_epoch() -> None:
    # epoch 0: a near-prior model (lowest cross-entropy, ranks poorly); then a model that ranks
    # well but is overconfident (higher cross-entropy); epoch 3 one lucky validation AUC
    loss, aucs = [0.66, 0.90, 1.10, 1.20, 1.30], [0.55, 0.74, 0.76, 0.90, 0.60]
    by_loss = TrainConfig(select=Selection.VAL_LOSS)
    smooth = TrainConfig(select=Selection.VAL_AUC_SMOOTH)
    scores = [selection_score(_history(loss, aucs)[: e + 1], smooth) for e in range(5)]
    assert int(np.argmax([-x for x in loss])) == 0
    assert scores[3] == pytest.approx(np.mean(aucs[1:4]))  # the last SMOOTH_EPOCHS epochs
    assert SMOOTH_EPOCHS == 3 and int(np.argmax(scores)) == 3
    assert selection_score(_history(loss, aucs), by_loss) == -1.30
    nan = selection_score(_history([0.7, 0.7], [0.6, math.nan]), smooth)
    assert nan == pytest.approx(0.6)  # an epoch without both classes is skipped


def _fit(select: Selection, min_epochs: int, **kw):
    data = synthetic(120, seed=2)
    torch.manual_seed(0)
    cfg = TrainConfig(
        epochs=8, batch_size=16, lr=1e-2, patience=100, seed=0, select=select,
        min_epochs=min_epochs, warmup=0.25, **kw,
    )  # fmt: skip
    return fit(Tiny(), data.subset(data.ids[:90]), data.subset(data.ids[90:]), cfg, CPU), cfg


def test_fit_keeps_the_best_smoothed_epoch_from_min_epochs_on() -> None:
    result, cfg = _fit(Selection.VAL_AUC_SMOOTH, min_epochs=3)
    smoothed = result.history["val_auc"].rolling(SMOOTH_EPOCHS, min_periods=1).mean()
    eligible = smoothed.iloc[cfg.min_epochs :]
    assert result.best_epoch == int(eligible.idxmax()) >= max(cfg.min_epochs, warmup_epochs(cfg))
    by_loss, _ = _fit(Selection.VAL_LOSS, min_epochs=0)
    assert by_loss.best_epoch == int(by_loss.history["val_loss"].idxmin())  # unchanged rule


def test_min_epochs_beyond_the_run_still_keeps_its_last_epoch() -> None:
    result, cfg = _fit(Selection.VAL_AUC_SMOOTH, min_epochs=50)
    assert result.best_epoch == cfg.epochs - 1


def test_augmented_ct_training_resumes_bit_for_bit(tmp_path) -> None:
    inputs = ct_radiomics_inputs(n=40)
    from tmiclnet.inputs.tensors import TensorData

    data = TensorData(inputs.ids, {"ct": inputs.ct}, inputs.labels)
    train, val = data.subset(data.ids[:30]), data.subset(data.ids[30:])
    cfg = TrainConfig(
        epochs=3, batch_size=8, lr=1e-3, seed=1, patience=9, augment=True,
        select=Selection.VAL_AUC_SMOOTH, min_epochs=1,
    )  # fmt: skip
    profile = _run(tmp_path).profile

    def model():
        torch.manual_seed(0)
        return build("ct_only", **model_config(profile, ct_depth=10, ct_widen=0.125))

    full = fit(model(), train, val, cfg, CPU, tmp_path / "full.pt", "k")
    cut = fit(model(), train, val, cfg, CPU, tmp_path / "cut.pt", "k", stop_after=1)
    assert not cut.completed
    resumed_model = model()
    torch.manual_seed(99)  # the resumed process starts with other random state
    resumed = fit(resumed_model, train, val, cfg, CPU, tmp_path / "cut.pt", "k")
    assert resumed.best_epoch == full.best_epoch
    for k, v in full.best_state.items():
        assert torch.equal(v, resumed.best_state[k]), k
