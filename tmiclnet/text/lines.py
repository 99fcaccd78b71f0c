"""One text token per line of a note, carrying the line's number on a log scale.

A small frozen language model reads "Total bilirubin 14.5 mg/dL" mostly as words: the number is
split into word pieces and its magnitude barely shapes the states, so a model on frozen states
learns which findings a note mentions but hardly how abnormal they are. The quick and cpu
profiles, which cannot fine-tune the encoder, therefore

1. average the word-piece states of each line of the note (one line is one finding: attention then
   runs over ~16 findings instead of ~200 word pieces), and
2. append the line's first number, encoded as its log10 and a bank of soft bins on that scale
   (Gaussian radial basis functions, a common way to embed a continuous value next to a token).

The gpu profile fine-tunes the language model on the word pieces instead, as the paper does.
"""

from __future__ import annotations

import re

import numpy as np
import torch

# a number not glued to a word ("x10^3" is a unit, not a value); a line's first one is its value
NUMBER = re.compile(r"(?<![A-Za-z0-9.^])\d+(?:\.\d+)?")
BIN_CENTRES = np.arange(-1.0, 4.01, 0.25)  # log10 of the value: 0.1 to 10,000
BIN_WIDTH = 0.25
N_CHANNELS = 2 + len(BIN_CENTRES)  # has a number, log10 value, soft bins


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


def number_channels(value: float | None) -> torch.Tensor:
    """(N_CHANNELS,) encoding of a value: [present, log10, soft bins]; zeros when there is none.

    Args:
        value: the line's number (:func:`first_number`); None or <= 0 encodes as all zeros.
    """
    out = torch.zeros(N_CHANNELS)
    if value is None or value <= 0:
        return out
    x = float(np.log10(value))
    out[0], out[1] = 1.0, x
    out[2:] = torch.from_numpy(np.exp(-0.5 * ((x - BIN_CENTRES) / BIN_WIDTH) ** 2)).float()
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


def line_tokens(
    notes: list[str],
    states: torch.Tensor,
    mask: torch.Tensor,
    tokenizer,
    max_tokens: int,
    max_lines: int = 24,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-line states with number channels: (N, L, H) -> (N, max_lines, H + N_CHANNELS).

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
    out, out_mask = [], torch.zeros(len(notes), max_lines, dtype=torch.bool)
    for i, (note, offsets) in enumerate(zip(notes, enc["offset_mapping"])):
        n = int(mask[i].sum())
        if len(offsets) != n:
            raise ValueError(
                f"note {i}: {len(offsets)} word pieces but {n} token states "
                "(another tokenizer or token budget?)"
            )
        spans = line_spans(note)[:max_lines]
        pool = line_pooling(spans, [tuple(o) for o in offsets], max_lines)
        pooled = pool.to(states.dtype) @ states[i, :n]
        numbers = torch.stack(
            [number_channels(first_number(note[lo:hi])) for lo, hi in spans]
            + [torch.zeros(N_CHANNELS)] * (max_lines - len(spans))
        )
        out.append(torch.cat([pooled, numbers.to(states.dtype)], dim=-1))
        out_mask[i] = pool.sum(1) > 0
    return torch.stack(out), out_mask
