"""What a model reads of a cohort's notes under a profile, for training and interpretation alike.

Frozen encoder: the cached word-piece states (:func:`tmiclnet.text.embed`), turned into one token
per note line (`profile.text_lines`, :mod:`tmiclnet.text.lines`) whose value sits, standardised,
in its field's channel (:mod:`tmiclnet.text.values`), or kept as word pieces. The standardisation
is fitted per fold on the training patients, so a cohort's line tokens are stored in parts
(:func:`text_inputs`) and finished per fold (`tmiclnet.text.values.fold_text`). Fine-tuned
encoder: the token ids, which the model's own language model reads. Training
(`tmiclnet.inputs.features`) and the attributions of `tmiclnet.evaluate.interpret` both build
their line tokens with :func:`frozen_text_tokens`'s parts, so what is explained is exactly what
was trained on.
"""

from __future__ import annotations

import hashlib

import torch

from tmiclnet.config import Profile
from tmiclnet.text import lines, values
from tmiclnet.text.embeddings import embed
from tmiclnet.text.model import load, load_tokenizer, tokenize


def text_inputs(cohort, profile: Profile) -> tuple[dict, dict]:
    """(tensors, info) of every patient's note, rows in `cohort.ids` order.

    Frozen with line tokens (`profile.text_lines`): the fold-independent parts (line_states,
    line_field, line_value, text_mask) that `tmiclnet.text.values.fold_text` turns into a fold's
    `text_tokens`; `info["text_fields"]` names the value channels, chosen from the notes' words
    alone (:func:`tmiclnet.text.values.vocabulary`). Frozen without: the cached word-piece states
    (text_tokens, text_mask). Fine-tuned: token ids (text). `info` holds what a fold's config hash
    must cover (text_dim, text_key, and the line-token setting).

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
    info: dict = {"text_key": emb.key}
    if not profile.text_lines:
        info["text_dim"] = emb.dim
        return {"text_tokens": emb.tokens, "text_mask": emb.mask}, info
    parts = _parts(emb.tokens, emb.mask, [notes[i] for i in cohort.ids], profile, None)
    fields = values.vocabulary(parts.names)
    info |= {
        "text_dim": emb.dim + values.n_channels(fields),
        "text_lines": profile.text_lines,
        "text_fields": fields,
    }
    tensors = {
        "line_states": parts.states,
        "line_field": values.field_index(parts.names, fields, profile.text_lines),
        "line_value": parts.values,
        "text_mask": parts.mask,
    }
    return tensors, info


def _parts(states, mask, notes, profile: Profile, tokenizer) -> lines.LineParts:
    tokenizer = tokenizer or load_tokenizer(profile.text_model)[0]
    return lines.line_parts(
        notes, states, mask, tokenizer, profile.text_max_tokens, profile.text_lines
    )


def frozen_text_tokens(
    states: torch.Tensor,
    mask: torch.Tensor,
    notes: list[str],
    profile: Profile,
    tokenizer=None,
    scale: values.FieldScale | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """What a model reads of frozen word-piece states under the profile: line tokens with their
    value channels, or every word piece. Differentiable in `states` (for attributions).

    Args:
        states: (N, L, H) word-piece states of `notes` (:func:`tmiclnet.text.embed`).
        mask: (N, L) True where a real word piece is.
        notes: the notes the states belong to, in row order.
        profile: text_lines, text_model and text_max_tokens are read.
        tokenizer: the profile's tokenizer; None loads it (:func:`tmiclnet.text.load_tokenizer`).
        scale: the fold's value statistics (`FoldInputs.text_scale`), as a trained model read
            them; None fits them on `notes` themselves (for a display, never for a model that
            is evaluated).
    """
    if not profile.text_lines:
        return states, mask
    parts = _parts(states, mask, notes, profile, tokenizer)
    if scale is None:
        fields = values.vocabulary(parts.names)
        field = values.field_index(parts.names, fields, profile.text_lines)
        scale = values.FieldScale.fit(field, parts.values, fields)
    field = values.field_index(parts.names, list(scale.fields), profile.text_lines)
    return values.assemble(parts.states, field, parts.values, scale), parts.mask
