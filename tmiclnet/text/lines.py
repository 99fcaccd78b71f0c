"""One text token per line of a note: its word pieces averaged, with the line's value read apart.

A small frozen language model reads "Total bilirubin 14.5 mg/dL" mostly as words: the number is
split into word pieces and its magnitude barely shapes the states, so a model on frozen states
learns which findings a note mentions but hardly how abnormal they are. The quick and cpu
profiles, which cannot fine-tune the encoder, therefore

1. average the word-piece states of each line of the note (one line is one finding: attention then
   runs over ~16 findings instead of ~200 word pieces), and
2. read the line's first number and the field it reports (the words before it, :func:`field_name`),
   which `tmiclnet.text.values` turns into a z-score in that field's own channel, scaled on the
   fold's training patients.

The gpu profile fine-tunes the language model on the word pieces instead, as the paper does.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np
import torch

# a number not glued to a word ("x10^3" is a unit, not a value); a line's first one is its value
NUMBER = re.compile(r"(?<![A-Za-z0-9.^])\d+(?:\.\d+)?")
# what is left of a field's name once punctuation and list marks are stripped
_NAME_JUNK = re.compile(r"[^a-z0-9()^/ ]+")


def line_spans(note: str) -> list[tuple[int, int]]:
    """(start, end) character spans of the note's non-blank lines.

    Args:
        note: the note, lines separated by newlines.
    """
    spans, start = [], 0
    for line in note.split("\n"):
        end = start + len(line)
        if line.strip():
            spans.append((start, end))
        start = end + 1
    return spans


def first_number(line: str) -> float | None:
    """The first free-standing number of a line ("58-year-old" -> 58), or None.

    Args:
        line: one line of a note.
    """
    match = NUMBER.search(line)
    return float(match.group()) if match else None


def field_name(line: str) -> str | None:
    """The field a line's value belongs to, in lower case: the words before its first number
    ("- Albumin 2.60 g/dL" -> "albumin"), or, when the number opens the line, the word after it
    ("58-year-old woman" -> "year old"); None when the line states no value (> 0).

    Args:
        line: one line of a note.
    """
    match = NUMBER.search(line)
    if match is None or float(match.group()) <= 0:
        return None
    head = " ".join(_NAME_JUNK.sub(" ", line[: match.start()].lower()).split())
    if head:
        return head
    tail = line[match.end() :].split()[:1]
    return " ".join(_NAME_JUNK.sub(" ", " ".join(tail).lower()).split()) or None


def line_fields(note: str, max_lines: int = 24) -> list[tuple[str | None, float]]:
    """(field, log10 of the value) of each of the note's first `max_lines` non-blank lines;
    (None, 0.0) for a line that states no value. Read from the text alone.

    Args:
        note: one note.
        max_lines: lines read at most (`Profile.text_lines`).
    """
    out = []
    for lo, hi in line_spans(note)[:max_lines]:
        name = field_name(note[lo:hi])
        out.append((name, float(np.log10(first_number(note[lo:hi]))) if name else 0.0))
    return out


def line_pooling(
    spans: list[tuple[int, int]], offsets: list[tuple[int, int]], max_lines: int
) -> torch.Tensor:
    """(max_lines, n_tokens) matrix averaging the word pieces of each line span (special tokens
    excluded). Rows of lines without a word piece (cut off by the token budget) are zero.

    Args:
        spans: the lines' character spans (:func:`line_spans`).
        offsets: each word piece's (start, end) characters; (0, 0) marks a special token.
        max_lines: rows of the matrix; lines past it are dropped.
    """
    spans = spans[:max_lines]
    pool = torch.zeros(max_lines, len(offsets))
    for row, (lo, hi) in enumerate(spans):
        cols = [j for j, (a, b) in enumerate(offsets) if b > a and lo <= a < hi]
        if cols:
            pool[row, cols] = 1.0 / len(cols)
    return pool


class LineParts(NamedTuple):
    """A batch of notes cut into lines: the fold-independent part of what a model reads."""

    states: torch.Tensor  # (N, max_lines, H) each line's word pieces averaged; 0 past the end
    mask: torch.Tensor  # (N, max_lines) True where a line is
    names: list[list[str | None]]  # per note, each kept line's field (None: no value)
    values: torch.Tensor  # (N, max_lines) log10 of each line's value; 0 where none


def line_parts(
    notes: list[str],
    states: torch.Tensor,
    mask: torch.Tensor,
    tokenizer,
    max_tokens: int,
    max_lines: int = 24,
) -> LineParts:
    """Per-line states, field names and log10 values of `notes`.

    `states`/`mask` are the frozen encoder's outputs for `notes` (`tmiclnet.text.embed`) with the
    same tokenizer and budget; the word-piece count of every note is checked against the mask.
    Differentiable in `states` (interpretation attributes line tokens back to word pieces).

    Args:
        notes: the notes, in the order of the rows of `states`.
        states: (N, L, H) word-piece states of the notes.
        mask: (N, L) True where a real word piece is.
        tokenizer: the tokenizer that produced `states` (a fast one: offsets are needed).
        max_tokens: the token budget `states` were computed with.
        max_lines: line tokens per note at most (`Profile.text_lines`).
    """
    enc = tokenizer(
        list(notes), truncation=True, max_length=max_tokens, return_offsets_mapping=True
    )
    out, names = [], []
    out_mask = torch.zeros(len(notes), max_lines, dtype=torch.bool)
    values = torch.zeros(len(notes), max_lines)
    for i, (note, offsets) in enumerate(zip(notes, enc["offset_mapping"])):
        n = int(mask[i].sum())
        if len(offsets) != n:
            raise ValueError(
                f"note {i}: {len(offsets)} word pieces but {n} token states "
                "(another tokenizer or token budget?)"
            )
        spans = line_spans(note)[:max_lines]
        pool = line_pooling(spans, [tuple(o) for o in offsets], max_lines)
        out.append(pool.to(states.dtype) @ states[i, :n])
        out_mask[i] = pool.sum(1) > 0
        read = line_fields(note, max_lines)
        names.append([name for name, _ in read])
        values[i, : len(read)] = torch.tensor([v for _, v in read])
    return LineParts(torch.stack(out), out_mask, names, values)
