"""The survival view's training side: censored patients join the binary folds without moving
them, the Cox loss ranks as it should, a Cox-trained model fits through the trainer on every
patient, and the risk files round-trip through the results store."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from tmiclnet.inputs.features import CohortInputs
from tmiclnet.inputs.folds import make_folds
from tmiclnet.inputs.survival import add_censored, combine_inputs, survival_split
from tmiclnet.models.cox import CoxModel, cox_loss
from tmiclnet.train import risks as risk_files


def binary_folds(n: int = 60) -> pd.DataFrame:
    labels = pd.Series([i % 3 == 0 for i in range(n)], index=[f"e{i:03d}" for i in range(n)])
    return make_folds(labels.astype(int), 3, seed=0)


def censored_events(n: int = 20) -> pd.Series:
    return pd.Series([i % 4 == 0 for i in range(n)], index=[f"c{i:03d}" for i in range(n)])


def test_censored_patients_join_the_folds_and_the_binary_ones_stay() -> None:
    folds, events = binary_folds(), censored_events()
    table = add_censored(folds, events, 3, seed=0)
    assert (
        table.loc[table["eligible"], ["id", "fold"]]
        .reset_index(drop=True)
        .equals(folds[["id", "fold"]])
    )
    added = table.loc[~table["eligible"]]
    assert sorted(added["id"]) == sorted(events.index)
    assert added["fold"].value_counts().between(6, 7).all()  # 20 over 3 folds
    assert add_censored(folds, events, 3, seed=0).equals(table)  # seeded: the same again
    assert not add_censored(folds, events, 3, seed=1).equals(table)


def test_a_survival_split_keeps_the_binary_split_and_adds_every_censored_patient_once() -> None:
    from tmiclnet.inputs.folds import split

    folds, events = binary_folds(), censored_events()
    table = add_censored(folds, events, 3, seed=0)
    for k in range(3):
        part = survival_split(folds, table, k, 0.2, seed=0)
        binary = split(folds, k, 0.2, seed=0)
        assert set(binary.train) <= set(part.train) and set(binary.val) <= set(part.val)
        assert set(part.test) - set(binary.test) == set(
            table.loc[(~table["eligible"]) & (table["fold"] == k), "id"]
        )
        assert len(part.train) + len(part.val) + len(part.test) == 80


def test_combined_inputs_pad_the_shorter_notes() -> None:
    def inputs(ids, length):
        n = len(ids)
        return CohortInputs(
            ids,
            torch.zeros(n, dtype=torch.long),
            radiomics=pd.DataFrame({"a": range(n), "b": range(n)}, index=ids),
            text={"text_tokens": torch.ones(n, length, 4), "text_mask": torch.ones(n, length) > 0},
            info={"text_key": "x"},
        )

    both = combine_inputs(inputs(["a", "b"], 5), inputs(["c"], 3), torch.tensor([1, 0, 1]))
    assert both.text["text_tokens"].shape == (3, 5, 4)
    assert both.text["text_mask"][2].tolist() == [True] * 3 + [False] * 2
    assert list(both.radiomics.index) == ["a", "b", "c"] and both.info["extra_text_key"] == "x"


def test_cox_loss_prefers_risks_in_the_order_of_the_deaths() -> None:
    time = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
    event = torch.tensor([True, True, False, True, False])
    right = torch.tensor([2.0, 1.0, 0.0, -1.0, -2.0])
    assert cox_loss(right, time, event) < cox_loss(-right, time, event)
    none = cox_loss(right.clone().requires_grad_(), time, torch.zeros(5, dtype=torch.bool))
    assert float(none.detach()) == 0.0 and none.requires_grad


def test_a_cox_model_learns_the_order_of_the_deaths_through_the_trainer() -> None:
    from tests.train.tiny import Tiny, synthetic
    from tmiclnet.evaluate.survival import harrell_c
    from tmiclnet.inputs.tensors import TensorData
    from tmiclnet.train.trainer import TrainConfig, fit, predict

    data = synthetic(160)
    g = torch.Generator().manual_seed(1)
    x = data.inputs["radiomics"]
    u = torch.rand(len(data), generator=g)  # exponential times drawn from the seeded generator
    time = -torch.log(u) / torch.exp(x[:, 0] + x[:, 1]) * 1000
    cens = torch.rand(len(data), generator=g) * 2000
    inputs = dict(data.inputs, surv_time=torch.minimum(time, cens), surv_event=time <= cens)
    data = TensorData(data.ids, inputs, inputs["surv_event"].long())
    train, val = data.subset(data.ids[:120]), data.subset(data.ids[120:])
    tiny = Tiny()
    tiny.modalities = ("radiomics",)
    model = CoxModel(tiny)
    cfg = TrainConfig(epochs=15, batch_size=32, lr=1e-2, patience=100, seed=0)
    result = fit(model, train, val, cfg, torch.device("cpu"))
    model.load_state_dict(result.best_state)
    risk = (lambda lg: lg[:, 1] - lg[:, 0])(predict(model, val, torch.device("cpu")))
    c = harrell_c(val.inputs["surv_time"], val.inputs["surv_event"], risk)
    assert c > 0.7, c
    assert result.history["val_loss"].iloc[-1] < result.history["val_loss"].iloc[0]


def test_risk_files_round_trip_and_refuse_missing_columns(tmp_path) -> None:
    rows = pd.DataFrame(
        {"id": ["b", "a"], "time": [10.0, 20.0], "event": [True, False], "risk": [0.3, 0.1],
         "fold": [1, 0], "repeat": [0, 0]}
    )  # fmt: skip
    path = risk_files.write_risks(tmp_path, "pbc", "m", rows)
    assert path == tmp_path / "pbc" / "m" / "risks.csv"
    back = risk_files.read_risks(tmp_path, "pbc", "m")
    assert back["id"].tolist() == ["a", "b"] and back["event"].dtype == bool
    with pytest.raises(ValueError, match="risk"):
        risk_files.write_risks(tmp_path, "pbc", "m", rows.drop(columns="risk"))
    with pytest.raises(FileNotFoundError, match="evaluate --survival"):
        risk_files.read_risks(tmp_path, "pbc", "other")
