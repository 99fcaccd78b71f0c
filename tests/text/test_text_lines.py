"""Line tokens: spans, the number and field read from each line, and the pooling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tmiclnet import text
from tmiclnet.text.lines import field_name, first_number, line_parts, line_pooling, line_spans

NOTE = (
    "HEPATOLOGY CLINIC\n58-year-old woman with primary biliary cholangitis.\n\n"
    "- Platelets 190 x10^3/uL (ref 150-400)\n- Total bilirubin 14.5 mg/dL (ref 0.1-1.2) H\n"
    "- Serum cholesterol: not measured."
)


def test_line_spans_skip_blank_lines_and_index_the_note() -> None:
    spans = line_spans(NOTE)
    assert [NOTE[a:b] for a, b in spans] == [line for line in NOTE.split("\n") if line.strip()]


@pytest.mark.parametrize(
    "line, value",
    [
        ("58-year-old woman", 58.0),
        ("- Platelets 190 x10^3/uL (ref 150-400)", 190.0),
        ("- Total bilirubin 14.5 mg/dL (ref 0.1-1.2) H", 14.5),
        ("- AST (SGOT) 137.9 U/mL", 137.9),
        ("- Serum cholesterol: not measured.", None),
        ("- x10^3 only", None),
    ],
)
def test_first_number_is_the_lines_value(line: str, value: float | None) -> None:
    assert first_number(line) == value


@pytest.mark.parametrize(
    "line, name",
    [
        ("58-year-old woman with primary biliary cholangitis.", "year old"),
        ("- Platelets 190 x10^3/uL (ref 150-400)", "platelets"),
        ("- Total bilirubin 14.5 mg/dL (ref 0.1-1.2) H", "total bilirubin"),
        ("- AST (SGOT) 137.9 U/mL", "ast (sgot)"),
        ("Albumin: 3.1", "albumin"),
        ("- Serum cholesterol: not measured.", None),
        ("- Copper 0 ug/day", None),  # no positive value: nothing to put on a log scale
    ],
)
def test_field_name_is_the_words_before_the_value(line: str, name: str | None) -> None:
    assert field_name(line) == name


def test_line_pooling_averages_each_lines_word_pieces() -> None:
    note = "ab cd\nef"
    offsets = [(0, 0), (0, 2), (3, 5), (6, 8), (0, 0)]  # [CLS] ab cd ef [SEP]
    pool = line_pooling(line_spans(note), offsets, max_lines=3)
    expected = torch.tensor([[0, 0.5, 0.5, 0, 0], [0, 0, 0, 1.0, 0], [0, 0, 0, 0, 0]])
    assert torch.equal(pool, expected)


@pytest.fixture(scope="module")
def tokenizer():
    return text.load_tokenizer("minilm")[0]


def test_line_parts_average_states_and_read_each_lines_field_and_value(tokenizer) -> None:
    enc = tokenizer([NOTE], truncation=True, max_length=64)
    n = len(enc["input_ids"][0])
    states = torch.arange(n, dtype=torch.float32).repeat(3, 1).T.unsqueeze(0)  # state = position
    mask = torch.ones(1, n, dtype=torch.bool)
    parts = line_parts([NOTE], states, mask, tokenizer, 64, max_lines=8)
    assert parts.states.shape == (1, 8, 3) and parts.values.shape == (1, 8)
    assert parts.mask[0].tolist() == [True] * 5 + [False] * 3
    firsts = parts.states[0, :5, 0]
    assert bool(torch.all(firsts[1:] > firsts[:-1]))  # later lines average later word pieces
    assert parts.names[0] == [None, "year old", "platelets", "total bilirubin", None]
    assert parts.values[0, 3].item() == pytest.approx(np.log10(14.5), rel=1e-6)
    assert parts.values[0, 4] == 0 and torch.all(parts.states[0, 5:] == 0)


def test_line_parts_refuse_states_of_another_tokenisation(tokenizer) -> None:
    states, mask = torch.zeros(1, 7, 3), torch.ones(1, 7, dtype=torch.bool)
    with pytest.raises(ValueError, match="word pieces but 7 token states"):
        line_parts([NOTE], states, mask, tokenizer, 64)


def test_line_parts_are_differentiable_in_the_states(tokenizer) -> None:
    enc = tokenizer([NOTE], truncation=True, max_length=64)
    n = len(enc["input_ids"][0])
    states = torch.randn(1, n, 4, requires_grad=True)
    parts = line_parts([NOTE], states, torch.ones(1, n, dtype=torch.bool), tokenizer, 64)
    parts.states.sum().backward()
    assert states.grad is not None and states.grad.abs().sum() > 0
    assert states.grad[0, 0].abs().sum() == 0  # [CLS] belongs to no line
