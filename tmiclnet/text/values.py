"""A note's numbers as the model reads them: each field's value standardised on the fold's
training patients, in a channel of its own.

A frozen language model reads "Albumin 2.60 g/dL" mostly as words, and one number channel
shared by every field (a log10 value, soft bins a quarter decade wide) hardly tells albumin
2.6 from 3.4 (a tenth of a decade), or bilirubin's scale from platelets'. So each line's value
goes into the channel of its field (the words before the number: "albumin", "total bilirubin";
:func:`tmiclnet.text.lines.field_name`) as a z-score of its log10, with the mean and standard
deviation of that field among the fold's TRAINING patients (:class:`FieldScale`), as the
radiomics scaler is fitted (`tmiclnet.inputs.features.fold_inputs`). A value one training sd
above the field's mean reads 1 whatever the field's unit or spread, and a linear read-out can
weigh each field with its own sign (low albumin and high bilirubin both mean risk).

Which fields get a channel (:func:`vocabulary`) is decided from the notes' words alone, never
their values or labels: the fields that state a number in at least `MIN_SHARE` of the notes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from tmiclnet.text.lines import line_fields, line_spans

MIN_SHARE = 0.05  # a field gets a channel when this share of the notes state a value for it
MAX_FIELDS = 32  # channels at most (free text could name a new "field" on every line)
CLIP = 5.0  # |z| at most: a value far outside the training range reads as the range's edge


def vocabulary(names: list[list[str | None]]) -> list[str]:
    """The fields that get a channel: those stating a value in >= MIN_SHARE of the notes, most
    frequent first (ties by name), at most MAX_FIELDS.

    Args:
        names: per note, each line's field name, None for a line without a value
            (:func:`tmiclnet.text.lines.line_parts`).
    """
    counts = Counter(name for note in names for name in set(note) if name)
    need = max(1.0, MIN_SHARE * len(names))
    kept = sorted((n for n, c in counts.items() if c >= need), key=lambda n: (-counts[n], n))
    return kept[:MAX_FIELDS]


def field_index(names: list[list[str | None]], fields: list[str], max_lines: int) -> torch.Tensor:
    """(N, max_lines) long: each line's field among `fields`, -1 for no value or no channel.

    Args:
        names: per note, each line's field name (None: no value).
        fields: the fields that have a channel (:func:`vocabulary`).
        max_lines: columns of the result (lines past it are dropped).
    """
    where = {name: i for i, name in enumerate(fields)}
    out = torch.full((len(names), max_lines), -1, dtype=torch.long)
    for row, note in enumerate(names):
        for col, name in enumerate(note[:max_lines]):
            out[row, col] = where.get(name, -1) if name else -1
    return out


def remap_fields(field: torch.Tensor, source: list[str], target: list[str]) -> torch.Tensor:
    """Field indices of `source`'s vocabulary as indices of `target`'s (-1 where `target` has no
    such field): two cohorts' line parts, each indexed by its own vocabulary, joined as one.

    Args:
        field: (N, L) indices into `source` (-1: none).
        source: the vocabulary `field` indexes.
        target: the vocabulary wanted.
    """
    where = {name: i for i, name in enumerate(target)}
    lookup = torch.tensor([where.get(name, -1) for name in source] + [-1], dtype=torch.long)
    return lookup[torch.where(field >= 0, field, len(source))]


@dataclass(frozen=True)
class FieldScale:
    """Per field, the mean and standard deviation of log10(value) among training notes.

    A field no training note states a value for, or whose values are all equal, reads 0.
    """

    fields: tuple[str, ...]
    mean: torch.Tensor  # (K,)
    sd: torch.Tensor  # (K,), 0 where the field cannot be scaled

    @classmethod
    def fit(cls, field: torch.Tensor, value: torch.Tensor, fields: list[str]) -> FieldScale:
        """The statistics of the given rows (pass the fold's training rows only).

        Args:
            field: (n, L) each line's field index (:func:`field_index`).
            value: (n, L) each line's log10 value (ignored where `field` is -1).
            fields: the names of the field indices.
        """
        k = len(fields)
        mean, sd = torch.zeros(k), torch.zeros(k)
        for i in range(k):
            seen = value[field == i].double()
            if seen.numel() >= 2:
                mean[i], sd[i] = float(seen.mean()), float(seen.std())
        return cls(tuple(fields), mean, sd)

    def channels(self, field: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        """(N, L, 1 + K): [the line states a value of a known field, its z-score in the field's
        channel]; zeros for a line without one.

        Args:
            field: (N, L) field indices (-1: none).
            value: (N, L) log10 values.
        """
        k = len(self.fields)
        out = torch.zeros(*field.shape, 1 + k)
        if k == 0:  # notes that state no value of any field (e.g. free text): no channels to fill
            return out
        known = field >= 0
        idx = field.clamp(min=0)
        usable = known & (self.sd[idx] > 0)
        z = ((value - self.mean[idx]) / self.sd[idx].clamp(min=1e-12)).clamp(-CLIP, CLIP)
        out[..., 0] = known.float()
        onehot = torch.nn.functional.one_hot(idx, k).float()
        out[..., 1:] = onehot * torch.where(usable, z, torch.zeros_like(z)).unsqueeze(-1)
        return out

    def table(self) -> pd.DataFrame:
        """One row per field: its geometric mean value and the sd of its log10 (decades)."""
        return pd.DataFrame(
            {
                "geometric mean": (10 ** self.mean.double()).numpy(),
                "sd of log10 (decades)": self.sd.double().numpy(),
            },
            index=pd.Index(self.fields, name="field"),
        )


def scale_of_notes(notes: list[str], max_lines: int = 24) -> FieldScale:
    """The vocabulary and statistics of these notes, from their text alone: what a fold fits on
    its training notes (`fold_text`), for a page or a check that has no encoder states.

    Args:
        notes: the notes to fit on (a fold's training notes).
        max_lines: lines read per note (`Profile.text_lines`).
    """
    read = [line_fields(note, max_lines) for note in notes]
    names = [[name for name, _ in lines_] for lines_ in read]
    fields = vocabulary(names)
    value = torch.zeros(len(notes), max_lines)
    for row, lines_ in enumerate(read):
        value[row, : len(lines_)] = torch.tensor([v for _, v in lines_])
    return FieldScale.fit(field_index(names, fields, max_lines), value, fields)


def value_table(note: str, scale: FieldScale, max_lines: int = 24, width: int = 46) -> pd.DataFrame:
    """What the value channels say of each line of `note`: its value, the channel it goes to and
    the z-score there (NaN for a line without a value of a known field).

    Args:
        note: one note.
        scale: the statistics it is read with (`fold_text`, `scale_of_notes`).
        max_lines: lines read (`Profile.text_lines`).
        width: a longer line is shown cut to this many characters, ending in "…" (the
            laboratory lines are shorter; a page's table must fit its column).
    """
    read = line_fields(note, max_lines)
    names = [[name for name, _ in read]]
    field = field_index(names, list(scale.fields), max_lines)[:, : len(read)]
    value = torch.tensor([[v for _, v in read]])
    ch = scale.channels(field, value)[0]
    rows = []
    for j, ((lo, hi), (name, v)) in enumerate(zip(line_spans(note), read)):
        known = int(field[0, j]) >= 0
        rows.append(
            {
                "line": line if len(line := note[lo:hi]) <= width else line[: width - 1] + "…",
                "value": 10**v if name else np.nan,
                "channel": name if known else "",
                "z": float(ch[j, 1 + int(field[0, j])]) if known else np.nan,
            }
        )
    return pd.DataFrame(rows)


def n_channels(fields: list[str] | tuple[str, ...]) -> int:
    """Channels appended to each line's state: a has-a-value flag and one per field.

    Args:
        fields: the fields that have a channel.
    """
    return 1 + len(fields)


def assemble(
    states: torch.Tensor, field: torch.Tensor, value: torch.Tensor, scale: FieldScale
) -> torch.Tensor:
    """What the model reads: each line's state with its value channels, (N, L, H + 1 + K).
    Differentiable in `states`.

    Args:
        states: (N, L, H) line states (:func:`tmiclnet.text.lines.line_parts`).
        field: (N, L) field indices.
        value: (N, L) log10 values.
        scale: the fold's statistics (:meth:`FieldScale.fit` on its training rows).
    """
    return torch.cat([states, scale.channels(field, value).to(states.dtype)], dim=-1)


# the cohort-level line parts (`tmiclnet.text.text_inputs`) a fold turns into `text_tokens`
LINE_KEYS = ("line_states", "line_field", "line_value")


def fold_text(
    text: dict, fields: list[str] | None, ids: list[str], train_ids: list[str]
) -> tuple[dict, FieldScale | None]:
    """(the fold's text tensors, its FieldScale): line parts become `text_tokens` with value
    channels scaled on `train_ids` alone; other text inputs (word pieces, token ids) pass as
    they are, with no scale.

    Args:
        text: a cohort's text inputs, rows in `ids` order (`tmiclnet.text.text_inputs`).
        fields: the fields with a channel (`info["text_fields"]` of those inputs).
        ids: the patients of the rows.
        train_ids: the fold's training patients: the only rows the statistics see.
    """
    if "line_states" not in text:
        return dict(text), None
    if fields is None:
        raise ValueError("line tokens without their field list (info['text_fields'])")
    where = {pid: i for i, pid in enumerate(ids)}
    rows = torch.tensor([where[pid] for pid in train_ids], dtype=torch.long)
    field, value = text["line_field"], text["line_value"]
    scale = FieldScale.fit(field[rows], value[rows], list(fields))
    tokens = assemble(text["line_states"], field, value, scale)
    return {"text_tokens": tokens, "text_mask": text["text_mask"]}, scale
