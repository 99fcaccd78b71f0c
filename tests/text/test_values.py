"""The notes' values as the model reads them: a channel per field, scaled on training rows only,
and a value that carries the label (no H/L flag to lean on) is read by the text model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tmiclnet import keys, text
from tmiclnet.inputs.tensors import TensorData
from tmiclnet.text import values
from tmiclnet.text.lines import line_parts
from tmiclnet.text.values import CLIP, FieldScale, field_index, fold_text, vocabulary


def _parts(field: list[list[int]], value: list[list[float]], h: int = 2) -> dict:
    f, v = torch.tensor(field), torch.tensor(value)
    return {
        "line_states": torch.ones(*f.shape, h),
        "line_field": f,
        "line_value": v,
        "text_mask": torch.ones(f.shape, dtype=torch.bool),
    }


def test_vocabulary_keeps_fields_most_notes_state_most_frequent_first() -> None:
    names = [["albumin", "bili", None]] * 20 + [["albumin", "once", "age"]]
    assert vocabulary(names) == ["albumin", "bili"]  # 1 note in 21 is below 5 %: no channel
    assert vocabulary(names + [["age"]]) == ["albumin", "bili", "age"]
    assert field_index([["bili", None, "age"]], ["albumin", "bili"], 4).tolist() == [
        [1, -1, -1, -1]
    ]


def test_the_statistics_are_fitted_on_training_rows_only() -> None:
    ids = ["a", "b", "c", "d", "t1", "t2"]
    field = [[0, 1]] * 6
    value = [[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0], [99.0, -99.0], [2.5, 25.0]]
    tensors, scale = fold_text(_parts(field, value), ["x", "y"], ids, ["a", "b", "c", "d"])
    train = torch.tensor(value[:4])
    assert torch.allclose(scale.mean, train.mean(0)) and torch.allclose(scale.sd, train.std(0))
    # the test patients' values never move the statistics nor what a training patient reads
    other = [*value[:4], [-5.0, 5.0], [0.0, 0.0]]
    again, scale2 = fold_text(_parts(field, other), ["x", "y"], ids, ["a", "b", "c", "d"])
    assert torch.equal(scale.mean, scale2.mean) and torch.equal(scale.sd, scale2.sd)
    assert torch.equal(tensors["text_tokens"][:4], again["text_tokens"][:4])
    # a test value is read on the training scale, clipped far outside it
    tok = tensors["text_tokens"]  # (6, 2, 2 states + flag + 2 fields)
    assert tok[5, 0, 3].item() == pytest.approx(0.0) and tok[5, 1, 4].item() == pytest.approx(0.0)
    assert tok[4, 0, 3].item() == CLIP and tok[4, 1, 4].item() == -CLIP
    # fitted on every row instead, the statistics change: the fit really sees only its rows
    _, leaky = fold_text(_parts(field, value), ["x", "y"], ids, ids)
    assert not torch.allclose(leaky.mean, scale.mean)


def test_each_value_sits_in_its_own_fields_channel() -> None:
    scale = FieldScale(("albumin", "bili"), torch.tensor([0.5, 0.0]), torch.tensor([0.1, 0.0]))
    ch = scale.channels(torch.tensor([[0, 1, -1]]), torch.tensor([[0.6, 3.0, 7.0]]))
    assert ch.shape == (1, 3, 3)
    assert ch[0, 0].tolist() == pytest.approx([1.0, 1.0, 0.0])  # one sd above albumin's mean
    assert ch[0, 1].tolist() == [1.0, 0.0, 0.0]  # a field without spread reads 0
    assert ch[0, 2].tolist() == [0.0, 0.0, 0.0]  # a value of no known field: nothing
    assert values.n_channels(scale.fields) == 3


def test_the_value_code_keys_trained_folds_but_not_the_frozen_states(monkeypatch) -> None:
    """Editing how values are encoded retrains every fold; the cached MiniLM states stay."""
    assert "text/values.py" in keys.RESULT_CODE and "text/lines.py" in keys.RESULT_CODE
    assert "text/values.py" not in keys.TEXT_CODE  # no re-encoding of the notes
    real_source = keys.source_form
    before_result, before_text = keys.code_hash(keys.RESULT_CODE), keys.code_hash(keys.TEXT_CODE)
    keys.code_hash.cache_clear()

    def edited(source: str) -> str:
        out = real_source(source)
        return out.replace("CLIP = 5.0", "CLIP = 4.0") if "CLIP = 5.0" in out else out

    monkeypatch.setattr(keys, "source_form", edited)
    try:
        assert keys.code_hash(keys.RESULT_CODE) != before_result
        assert keys.code_hash(keys.TEXT_CODE) == before_text
    finally:
        keys.code_hash.cache_clear()


# ---------------------------------------------------------------- a value the model must read
def _notes(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """Notes whose label is in albumin's value, always inside its reference range (no H/L
    flag), among two lines of noise, the lines in a random order per note."""
    rng = np.random.default_rng(seed)
    albumin = rng.uniform(3.6, 4.9, n)
    y = (albumin + 0.05 * rng.standard_normal(n) < 4.25).astype(int)
    notes = []
    for i in range(n):
        body = [
            f"- Albumin {albumin[i]:.2f} g/dL (ref 3.5-5)",
            f"- Platelets {rng.integers(160, 390)} x10^3/uL (ref 150-400)",
            f"- Total bilirubin {rng.uniform(0.2, 1.1):.1f} mg/dL (ref 0.1-1.2)",
        ]
        notes.append("\n".join(["Hepatology note", *rng.permutation(body)]) + "\n")
    return notes, y


def _test_auc(tensors: dict, y: np.ndarray, dim: int) -> float:
    from tmiclnet.models import build
    from tmiclnet.train.trainer import TrainConfig, auc, fit, predict

    n = len(y)
    ids = [f"n{i}" for i in range(n)]
    inputs = {**tensors, "present": torch.ones(n, 3, dtype=torch.bool)}
    data = TensorData(ids, inputs, torch.tensor(y))
    train, val, test = data.subset(ids[:100]), data.subset(ids[100:120]), data.subset(ids[120:])
    torch.manual_seed(0)
    model = build("text_only", text_dim=dim, use_text_tokens=True, dim=32, heads=4)
    cfg = TrainConfig(epochs=25, batch_size=20, lr=3e-3, patience=100, seed=0)
    fit(model, train, val, cfg, torch.device("cpu"))
    probs = torch.softmax(predict(model, test, torch.device("cpu")), -1)[:, 1]
    return auc(test.labels.numpy(), probs.numpy())


@pytest.fixture
def own_rng_and_one_thread():
    """Leave torch's global generator and thread count as they were: later tests (some draw from
    the global generator unseeded) must not depend on this one having run."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with torch.random.fork_rng():
        yield
    torch.set_num_threads(threads)


@pytest.mark.usefixtures("own_rng_and_one_thread")
def test_a_value_without_a_flag_is_read_by_the_text_model() -> None:
    tokenizer = text.load_tokenizer("minilm")[0]
    notes, y = _notes(180, seed=3)
    enc = tokenizer(notes, truncation=True, max_length=64)
    length = max(len(i) for i in enc["input_ids"])
    g = torch.Generator().manual_seed(0)
    states = torch.randn(len(notes), length, 8, generator=g)  # word pieces that say nothing
    mask = torch.tensor([[j < len(i) for j in range(length)] for i in enc["input_ids"]])
    parts = line_parts(notes, states, mask, tokenizer, 64, max_lines=4)
    fields = vocabulary(parts.names)
    assert set(fields) == {"albumin", "platelets", "total bilirubin"}
    cohort = {
        "line_states": parts.states,
        "line_field": field_index(parts.names, fields, 4),
        "line_value": parts.values,
        "text_mask": parts.mask,
    }
    ids = [f"n{i}" for i in range(len(notes))]
    tensors, _ = fold_text(cohort, fields, ids, ids[:100])
    dim = 8 + values.n_channels(fields)
    read = _test_auc(tensors, y, dim)
    blind = dict(tensors, text_tokens=tensors["text_tokens"].clone())
    blind["text_tokens"][..., 8:] = 0  # the same notes with the value channels emptied
    assert read > 0.85, f"the albumin value was not read: test AUC {read:.3f}"
    assert _test_auc(blind, y, dim) < 0.7  # the signal is in the value, nowhere else


def test_two_cohorts_joined_read_each_value_in_the_same_channel() -> None:
    """The survival page joins PBC and its companion, each with its own field order."""
    from tmiclnet.inputs.features import CohortInputs
    from tmiclnet.inputs.survival import combine_inputs

    assert values.remap_fields(torch.tensor([[1, -1, 0]]), ["b", "a"], ["a", "c"]).tolist() == [
        [0, -1, -1]
    ]

    def inputs(ids, field, fields):
        parts = _parts(field, [[1.0, 2.0]] * len(ids))
        info = {"text_fields": fields, "text_dim": 2 + values.n_channels(fields)}
        return CohortInputs(ids, torch.zeros(len(ids), dtype=torch.long), text=parts, info=info)

    main = inputs(["a", "b"], [[0, 1], [0, 1]], ["albumin", "bili"])
    extra = inputs(["c"], [[1, 0]], ["albumin", "bili"][::-1])  # the same lines, other order
    both = combine_inputs(main, extra, torch.tensor([0, 1, 0]))
    assert both.text["line_field"].tolist() == [[0, 1], [0, 1], [0, 1]]


def test_notes_without_any_value_field_get_empty_channels():
    """Free-text notes (no field states a value) train too: one flag channel, all zero."""
    from tmiclnet.text.values import FieldScale

    scale = FieldScale((), torch.zeros(0), torch.zeros(0))
    out = scale.channels(torch.full((2, 3), -1), torch.zeros(2, 3))
    assert out.shape == (2, 3, 1) and not out.any()
