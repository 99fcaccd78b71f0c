"""The text encoder: real MiniLM on a few short notes; offline errors; the embedding cache."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tmiclnet import text
from tmiclnet.text import embeddings

NOTES = {
    "p1": "Age: 58. Sex: female. Bilirubin: 1.4 mg/dL. Albumin: 3.5 g/dL. Ascites: no.",
    "p2": (
        "Age: 41. Sex: female. Bilirubin: 12.6 mg/dL. Ascites: yes. "
        "Edema: present despite diuretics."
    ),
    "p3": "Age: 66. Sex: male.",
}


@pytest.fixture(scope="module")
def tok_model():
    return text.load(text.DEFAULT_MODEL)


def test_default_model_is_the_shipped_folder() -> None:
    assert Path(text.DEFAULT_MODEL, "config.json").exists()
    assert text.resolve("minilm") == Path(text.DEFAULT_MODEL).resolve()


def test_tokenize_truncates_and_pads(tok_model) -> None:
    tokenizer, _ = tok_model
    enc = text.tokenize(list(NOTES.values()), tokenizer, max_tokens=16)
    assert enc["input_ids"].shape == enc["attention_mask"].shape
    assert (
        enc["input_ids"].shape[0] == 3 and enc["input_ids"].shape[1] == 16
    )  # long notes cut at 16
    lengths = enc["attention_mask"].sum(1).tolist()
    assert lengths[0] == lengths[1] == 16 and lengths[2] < 16  # the short note is padded
    assert enc["input_ids"][2, lengths[2] :].eq(tokenizer.pad_token_id).all()
    with pytest.raises(TypeError):
        text.tokenize("one string, not a list", tokenizer, 16)


def test_embed_shapes_mask_and_pooling(tmp_path: Path) -> None:
    emb = text.embed(NOTES, text.DEFAULT_MODEL, max_tokens=32, cache_dir=tmp_path)
    n, length, hidden = emb.tokens.shape
    assert (n, hidden) == (3, 384) and length <= 32 and emb.dim == 384
    assert emb.ids == ["p1", "p2", "p3"]
    assert emb.tokens.dtype == torch.float32 and emb.mask.dtype == torch.bool
    assert emb.mask.shape == (3, length) and emb.pooled.shape == (3, 384)
    assert emb.mask[2].sum() < emb.mask[0].sum()  # the short note has fewer real tokens
    assert emb.tokens[2, ~emb.mask[2]].abs().sum() == 0  # padding holds zeros
    real = emb.tokens[2, emb.mask[2]].mean(0)
    torch.testing.assert_close(emb.pooled[2], real)  # pooled = mean over real tokens only
    assert not torch.allclose(emb.pooled[0], emb.pooled[1])
    sub = emb.select(["p3", "p1"])
    torch.testing.assert_close(sub.pooled, emb.pooled[[2, 0]])
    with pytest.raises(KeyError, match="p9"):
        emb.select(["p9"])


def test_cache_hit_returns_identical_tensors_without_recomputing(
    tmp_path: Path, monkeypatch
) -> None:
    first = text.embed(NOTES, max_tokens=24, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.pt"))) == 1

    def fail(*args, **kwargs):
        raise AssertionError("recomputed despite a cache hit")

    monkeypatch.setattr(embeddings, "_compute", fail)
    again = text.embed(NOTES, max_tokens=24, cache_dir=tmp_path)
    assert again.key == first.key
    assert torch.equal(again.tokens, first.tokens) and torch.equal(again.mask, first.mask)
    assert torch.equal(again.pooled, first.pooled)


def test_key_changes_with_note_budget_and_model() -> None:
    sha = text.model_hash(text.DEFAULT_MODEL)
    base = text.cache_key(sha, 64, NOTES)
    changed = dict(NOTES, p3="Age: 67. Sex: male.")
    assert text.cache_key(sha, 64, changed) != base
    assert text.cache_key(sha, 128, NOTES) != base
    assert text.cache_key("0" * 64, 64, NOTES) != base
    assert text.cache_key(sha, 64, dict(NOTES)) == base


def test_recompute_is_deterministic(tmp_path: Path) -> None:
    a = text.embed({"x": NOTES["p1"]}, max_tokens=24, cache_dir=tmp_path, use_cache=False)
    b = text.embed({"x": NOTES["p1"]}, max_tokens=24, cache_dir=tmp_path, use_cache=False)
    assert torch.equal(a.tokens, b.tokens)
    assert not list(tmp_path.glob("*.pt"))


def test_missing_model_fails_offline_naming_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(
        text.TextModelNotFound, match="nobody/no-such-clinical-bert.*not found offline"
    ):
        text.load("nobody/no-such-clinical-bert")
    with pytest.raises(text.TextModelNotFound, match="no such folder"):
        text.load(tmp_path / "absent" / "model")
    (tmp_path / "empty").mkdir()
    with pytest.raises(text.TextModelNotFound, match="config.json"):
        text.load(tmp_path / "empty")


def test_bad_notes_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no notes"):
        text.embed({}, cache_dir=tmp_path)
    with pytest.raises(TypeError, match="'p1'"):
        text.embed({"p1": 3.0}, cache_dir=tmp_path)


def test_token_counts_are_untruncated(tok_model) -> None:
    tokenizer, _ = tok_model
    counts = text.token_counts(list(NOTES.values()), tokenizer)
    enc = text.tokenize(list(NOTES.values()), tokenizer, max_tokens=512)
    assert counts == enc["attention_mask"].sum(1).tolist()
    assert counts[1] > counts[2] > 2  # [CLS] and [SEP] are counted
