"""Missing-modality rows that measure something: the stand-in for an absent modality is trained.

A model's learned "missing" vector gets a gradient only when a training row lacks a modality,
that is with modality dropout > 0; the robustness page asks only such models (and late fusion)
to predict without a modality.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from tmiclnet.data.render import EXTERNAL
from tmiclnet.evaluate.robustness import conditions, missing, scores, tables
from tmiclnet.inputs.tensors import TensorData
from tmiclnet.models.catalogue import BY_NAME, build, catalogue, train_overrides
from tmiclnet.train.trainer import TrainConfig, fit

SMALL = {"rad_features": 6, "use_ct_tokens": True, "ct_token_dim": 8, "text_dim": 8, "dim": 16}


def _data(n: int = 48, seed: int = 0) -> TensorData:
    """Every modality present, labels carried by the radiomics and the text."""
    g = torch.Generator().manual_seed(seed)
    rad = torch.randn(n, 6, generator=g)
    text = torch.randn(n, 3, 8, generator=g)
    y = ((rad[:, 0] + text[:, 0, 0]) > 0).long()
    inputs = {
        "ct_tokens": torch.randn(n, 4, 8, generator=g),
        "radiomics": rad,
        "text_tokens": text,
        "text_mask": torch.ones(n, 3, dtype=torch.bool),
        "present": torch.ones(n, 3, dtype=torch.bool),
    }
    return TensorData([f"p{i:03d}" for i in range(n)], inputs, y)


def _model(name: str = "early_fusion_md"):
    torch.manual_seed(0)
    return build(name, **SMALL)


def test_the_missing_vector_gets_a_gradient_only_from_rows_that_lack_a_modality() -> None:
    data = _data(8)
    model = _model()
    batch = data.batch(torch.arange(8), torch.device("cpu"))
    model.loss(model(batch), batch["label"]).backward()
    assert float(model.missing.grad.abs().sum()) == 0.0  # every modality present: no signal
    model.zero_grad()
    batch["present"][:4, 2] = False  # four rows without their note
    model.loss(model(batch), batch["label"]).backward()
    grad = model.missing.grad.abs().sum(1)
    assert grad[2] > 0 and grad[0] == 0 and grad[1] == 0  # only the text stand-in learns


def _trained_missing(p: float) -> tuple[torch.Tensor, torch.Tensor]:
    data = _data()
    train, val = data.subset(data.ids[:36]), data.subset(data.ids[36:])
    model = _model()
    init = model.missing.detach().clone()
    cfg = TrainConfig(epochs=4, batch_size=12, lr=1e-2, patience=100, modality_dropout=p)
    model.load_state_dict(fit(model, train, val, cfg, torch.device("cpu")).best_state)
    return init, model.missing.detach()


def test_a_model_trained_with_modality_dropout_moves_its_missing_vector() -> None:
    init, moved = _trained_missing(0.3)
    init0, still = _trained_missing(0.0)
    assert torch.equal(init, init0)  # same initial weights
    cos = torch.nn.functional.cosine_similarity
    # without dropout only weight decay touches it: it shrinks along its own direction
    assert float(cos(still, init0, dim=1).min()) > 0.9999
    assert float(still.norm()) < float(init0.norm())
    # with dropout every modality's stand-in was trained: it turned away from its initialisation
    assert float(cos(moved, init, dim=1).max()) < 0.99
    assert float((moved - init).norm(dim=1).min()) > 10 * float((still - init0).norm(dim=1).max())


def test_dropout_variants_fix_their_p_in_the_training_config_and_the_fold_key() -> None:
    from types import SimpleNamespace

    from tmiclnet.config import setup
    from tmiclnet.inputs.folds import FoldSplit
    from tmiclnet.train.fold import fold_key, train_config

    run = setup("quick")
    for name in ("tmiclnet_tokens_md", "early_fusion_md"):
        assert train_overrides(name)["modality_dropout"] > 0
        assert (
            train_config(name, run, 0).modality_dropout == train_overrides(name)["modality_dropout"]
        )
    assert train_config("early_fusion", run, 0).modality_dropout == 0.0
    # the variant builds the same network as its parent
    a, b = _model("early_fusion"), _model("early_fusion_md")
    assert [k for k in a.state_dict()] == [k for k in b.state_dict()]
    fin = SimpleNamespace(split=FoldSplit(0, train=["a"], val=["b"], test=["c"]))
    inputs = SimpleNamespace(info={})
    assert fold_key("early_fusion_md", {}, fin, inputs, run, "v") != fold_key(
        "early_fusion_md", {}, fin, inputs, run.replace(seed=1), "v"
    )
    key = fold_key("early_fusion", {}, fin, inputs, run, "v")
    object.__setattr__(BY_NAME["early_fusion"], "train", {"modality_dropout": 0.3})
    try:
        assert fold_key("early_fusion", {}, fin, inputs, run, "v") != key  # p is in the key
    finally:
        object.__setattr__(BY_NAME["early_fusion"], "train", {})
    # the training page's "all" leaves them out; they are listed on request
    assert "early_fusion_md" not in set(catalogue()["name"])
    assert "early_fusion_md" in set(catalogue(variants=True)["name"])


def test_drop_rows_only_for_models_trained_for_missing_inputs() -> None:
    drop = conditions.Condition("drop_text", drop="text")
    three = ("ct", "radiomics", "text")
    assert not conditions.applies(drop, three, "tmiclnet_tokens")
    assert not conditions.applies(drop, three, "early_fusion")
    assert conditions.applies(drop, three, "tmiclnet_tokens_md")
    assert conditions.applies(drop, three, "early_fusion_md")
    assert conditions.applies(drop, three, "late_fusion")  # averages the unimodal models it has
    assert conditions.applies(
        conditions.Condition("external", scanner=EXTERNAL), three, "early_fusion"
    )
    table = missing.missing_inputs_table("tmiclnet_tokens,early_fusion_md,ct_only")
    assert table.loc["tmiclnet_tokens", "without one"] == "not asked"
    assert table.loc["early_fusion_md", "without one"] == "learned vector"
    assert table.loc["early_fusion_md", "dropout p"] == 0.3
    assert table.loc["ct_only", "without one"] == "one modality only"
    assert "learned missing vector" in missing.missing_inputs("early_fusion_md")
    assert "p=0.3" in missing.missing_inputs("early_fusion_md")
    assert missing.missing_inputs("tmiclnet_tokens") is None
    assert "masked out" in missing.missing_inputs("tmiclnet_tokens_md")


def _rows(changes: dict[str, list[float]], model: str = "m_md") -> pd.DataFrame:
    rows = []
    for k in range(len(next(iter(changes.values())))):
        rows.append({"model": model, "fold": k, "condition": "none", "auc": 0.8, "n": 10})
        for cond, values in changes.items():
            rows.append({"model": model, "fold": k, "condition": cond, "auc": 0.8 + values[k]})
    return pd.DataFrame(rows)


def test_findings_quote_their_table_with_intervals_and_no_fixed_threshold() -> None:
    changes = {
        "drop_ct": [0.03, 0.02, 0.03, 0.02],
        "drop_radiomics": [0.01, 0.0, 0.0, 0.01],
        "drop_text": [-0.2, -0.16, -0.19, -0.17],
    }
    said = tables.findings(_rows(changes), ratio=0.3125)
    text, table = said.markdown(), said.table
    assert said.unshown() == [] and text.startswith("Over 4 folds")
    column = "AUC change [95 % CI]"
    cell = table.loc[("m_md", "no text"), column]  # mean [low, high] of the corrected resampled t
    assert cell.startswith("-0.18 [") and f"without the clinical note: m_md {cell}" in text.lower()
    assert "a loss: the interval lies below zero" in text
    assert "lean most on the clinical note" in text
    # a model better without an input is discussed, with its interval
    assert f"m_md is better without the CT ({table.loc[('m_md', 'no CT'), column]})" in text
    assert "a gain: the interval lies above zero" in text
    wide = tables.findings(
        _rows({"drop_ct": [-0.01, 0.01], "drop_radiomics": [0.0, 0.0], "drop_text": [0.0, -0.02]}),
        ratio=0.3125,
    ).markdown()
    assert "the interval includes zero" in wide


def test_dropout_cost_pairs_each_variant_with_its_original() -> None:
    df = pd.concat([_rows({"drop_ct": [0.0, 0.0]}, "a_md"), _rows({"drop_ct": [0.0, 0.0]}, "a")])
    df.loc[(df["model"] == "a_md") & (df["condition"] == "none"), "auc"] = [0.76, 0.77]
    said = tables.dropout_cost(df, ratio=0.3125)
    assert list(said.table.index) == ["a_md"] and said.unshown() == []
    assert said.table.loc["a_md", "difference"].startswith("-0.04 [")
    assert "a_md reaches 0.765 and a, the same model trained without dropout, 0.800" in (
        said.markdown()
    )


@pytest.mark.parametrize(
    ("edited_file", "changes"),
    [
        ("rescan.py", True),  # what a condition's inputs are
        ("conditions.py", True),
        ("missing.py", True),  # which rows are computed
        ("tables.py", False),  # the page's layout of the rows: no recomputation
    ],
)
def test_the_cache_key_covers_the_code_of_the_rows_only(monkeypatch, edited_file, changes) -> None:
    before = scores.code_key()
    real = Path.read_bytes

    def edited(path):
        data = real(path)
        return data + b"# edit" if path.name == edited_file else data

    monkeypatch.setattr(Path, "read_bytes", edited)
    assert (scores.code_key() != before) is changes


@pytest.mark.parametrize("name", ["tmiclnet_tokens_md", "early_fusion_md"])
def test_dropout_variants_read_all_modalities(name: str) -> None:
    assert BY_NAME[name].modalities == ("ct", "radiomics", "text")
    assert missing.modality_dropout_of(name) == pytest.approx(0.3)
