"""What a model reads of a cohort's notes under a profile, for training and interpretation alike.

Frozen encoder: the cached word-piece states (:func:`tmiclnet.text.embed`), turned into one token
per note line with its number (`profile.text_lines`, :mod:`tmiclnet.text.lines`) or kept as word
pieces. Fine-tuned encoder: the token ids, which the model's own language model reads. Training
(`tmiclnet.inputs.features`) and the attributions of `tmiclnet.evaluate.interpret` both go through
:func:`frozen_text_tokens`, so what is explained is exactly what was trained on.
"""

from __future__ import annotations

import hashlib

import torch

from tmiclnet.config import Profile
from tmiclnet.text import lines
from tmiclnet.text.embeddings import embed
from tmiclnet.text.model import load, load_tokenizer, tokenize


def text_inputs(cohort, profile: Profile) -> tuple[dict, dict]:
    """(tensors, info) of every patient's note, rows in `cohort.ids` order.

    Frozen: cached token states (text_tokens, text_mask), one per note line with its number
    (`profile.text_lines`) or one per word piece. Fine-tuned: token ids (text). `info` holds what
    a fold's config hash must cover (text_dim, text_key, and the line-token setting).

    Args:
        cohort: the cohort (its `ids` and `note(pid)`; a `tmiclnet.data.cohort.Cohort`).
        profile: text_model, text_finetune, text_max_tokens and text_lines are read.
    """
    notes = {pid: cohort.note(pid) for pid in cohort.ids}
    if profile.text_finetune:
        tokenizer, model = load(profile.text_model)
        enc = tokenize([notes[i] for i in cohort.ids], tokenizer, profile.text_max_tokens)
        key = hashlib.sha256(str(enc["input_ids"].tolist()).encode()).hexdigest()[:16]
        return {"text": enc}, {"text_dim": int(model.config.hidden_size), "text_key": key}
    emb = embed(notes, profile.text_model, profile.text_max_tokens).select(cohort.ids)
    tokens, mask = frozen_text_tokens(emb.tokens, emb.mask, [notes[i] for i in cohort.ids], profile)
    info = {"text_dim": int(tokens.shape[-1]), "text_key": emb.key}
    if profile.text_lines:
        info["text_lines"] = profile.text_lines
    return {"text_tokens": tokens, "text_mask": mask}, info


def frozen_text_tokens(
    states: torch.Tensor, mask: torch.Tensor, notes: list[str], profile: Profile, tokenizer=None
) -> tuple[torch.Tensor, torch.Tensor]:
    """What a model reads of frozen word-piece states under the profile: line tokens with their
    numbers, or every word piece. Differentiable in `states` (for attributions).

    Args:
        states: (N, L, H) word-piece states of `notes` (:func:`tmiclnet.text.embed`).
        mask: (N, L) True where a real word piece is.
        notes: the notes the states belong to, in row order.
        profile: text_lines, text_model and text_max_tokens are read.
        tokenizer: the profile's tokenizer; None loads it (:func:`tmiclnet.text.load_tokenizer`).
    """
    if profile.text_lines:
        tokenizer = tokenizer or load_tokenizer(profile.text_model)[0]
        return lines.line_tokens(
            notes, states, mask, tokenizer, profile.text_max_tokens, profile.text_lines
        )
    return states, mask
