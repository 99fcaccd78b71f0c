"""A cohort's text inputs: what the model reads under each profile setting, and what is hashed."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest
import torch

from tmiclnet import text
from tmiclnet.config import get_profile
from tmiclnet.text import values
from tmiclnet.text.lines import line_parts
from tmiclnet.text.values import field_index, fold_text

NOTES = {
    "p2": "Hepatology note\n- Total bilirubin 14.5 mg/dL (ref 0.1-1.2) H\n- Albumin 2.9 g/dL L",
    "p1": "Hepatology note\n- Total bilirubin 0.8 mg/dL (ref 0.1-1.2)\n- Ascites: none",
}


@pytest.fixture
def cohort(tmp_path, monkeypatch):
    monkeypatch.setenv("TMICLNET_CACHE", str(tmp_path))  # the embeddings land in tmp_path/text
    return SimpleNamespace(ids=["p1", "p2"], note=NOTES.__getitem__)


def _profile(**changes):
    return dataclasses.replace(get_profile("quick"), text_max_tokens=48, **changes)


def test_word_pieces_pass_through_without_line_tokens() -> None:
    states, mask = torch.randn(2, 5, 3), torch.ones(2, 5, dtype=torch.bool)
    out, out_mask = text.frozen_text_tokens(states, mask, ["a", "b"], _profile(text_lines=0))
    assert out is states and out_mask is mask


def test_text_inputs_are_line_parts_of_the_cached_states(cohort, tmp_path) -> None:
    profile = _profile(text_lines=6)
    tensors, info = text.text_inputs(cohort, profile)
    assert len(list((tmp_path / "text").glob("*.pt"))) == 1  # cached under the cache root
    emb = text.embed({pid: NOTES[pid] for pid in cohort.ids}, "minilm", 48)
    tokenizer = text.load_tokenizer("minilm")[0]
    parts = line_parts([NOTES["p1"], NOTES["p2"]], emb.tokens, emb.mask, tokenizer, 48, 6)
    fields = ["total bilirubin", "albumin"]  # the most frequent field first
    assert torch.equal(tensors["line_states"], parts.states)
    assert torch.equal(tensors["line_value"], parts.values)
    assert torch.equal(tensors["line_field"], field_index(parts.names, fields, 6))
    assert torch.equal(tensors["text_mask"], parts.mask)
    assert info == {
        "text_dim": emb.dim + 1 + len(fields),  # a has-a-value flag and one channel per field
        "text_key": emb.key,
        "text_lines": 6,
        "text_fields": fields,
    }
    # a fold's tokens: the states, then the value channels
    fold, scale = fold_text(tensors, info["text_fields"], cohort.ids, cohort.ids)
    assert fold["text_tokens"].shape == (2, 6, info["text_dim"])
    assert torch.equal(fold["text_tokens"][..., : emb.dim], parts.states)
    assert scale.fields == tuple(fields)
    # the page's text-only fit (no encoder states) is the fold's fit on the same notes
    by_text = values.scale_of_notes([NOTES["p1"], NOTES["p2"]], 6)
    assert by_text.fields == scale.fields and torch.equal(by_text.mean, scale.mean)
    table = values.value_table(NOTES["p2"], scale, 6)
    assert table["channel"].tolist() == ["", "total bilirubin", "albumin"]
    assert table["value"].iloc[1] == pytest.approx(14.5)
    # what interpretation rebuilds from one note's states is what the fold's model read
    one = emb.select(["p2"])
    seen, _ = text.frozen_text_tokens(one.tokens, one.mask, [NOTES["p2"]], profile, None, scale)
    assert torch.allclose(seen[0], fold["text_tokens"][1], atol=1e-6)


def test_text_inputs_keep_word_pieces_when_line_tokens_are_off(cohort) -> None:
    tensors, info = text.text_inputs(cohort, _profile(text_lines=0))
    emb = text.embed({pid: NOTES[pid] for pid in cohort.ids}, "minilm", 48)
    assert torch.equal(tensors["text_tokens"], emb.tokens)
    assert torch.equal(tensors["text_mask"], emb.mask)
    assert set(info) == {"text_dim", "text_key"} and info["text_dim"] == emb.dim


def test_fine_tuned_text_inputs_are_token_ids(cohort) -> None:
    tensors, info = text.text_inputs(cohort, _profile(text_finetune=True))
    tokenizer = text.load_tokenizer("minilm")[0]
    enc = text.tokenize([NOTES["p1"], NOTES["p2"]], tokenizer, 48)
    assert set(tensors) == {"text"}
    assert torch.equal(tensors["text"]["input_ids"], enc["input_ids"])
    assert info["text_dim"] == 384 and len(info["text_key"]) == 16
