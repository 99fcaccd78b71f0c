"""Line tokens with numbers: spans, the number read from each line, pooling and the encoding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tmiclnet import text
from tmiclnet.text.lines import (
    N_CHANNELS,
    first_number,
    line_pooling,
    line_spans,
    line_tokens,
    number_channels,
)

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


def test_number_channels_encode_magnitude_on_a_log_scale() -> None:
    assert torch.equal(number_channels(None), torch.zeros(N_CHANNELS))
    low, high = number_channels(1.0), number_channels(100.0)
    assert low[0] == 1 and low[1] == pytest.approx(0.0) and high[1] == pytest.approx(2.0)
    # the soft bins peak where the value is: a different bin for each decade
    assert int(torch.argmax(low[2:])) != int(torch.argmax(high[2:]))
    # close values give close codes, far values distant ones
    near = torch.dist(number_channels(14.5), number_channels(15.0))
    far = torch.dist(number_channels(14.5), number_channels(1.5))
    assert near < 0.2 * far


def test_line_pooling_averages_each_lines_word_pieces() -> None:
    note = "ab cd\nef"
    offsets = [(0, 0), (0, 2), (3, 5), (6, 8), (0, 0)]  # [CLS] ab cd ef [SEP]
    pool = line_pooling(line_spans(note), offsets, max_lines=3)
    expected = torch.tensor([[0, 0.5, 0.5, 0, 0], [0, 0, 0, 1.0, 0], [0, 0, 0, 0, 0]])
    assert torch.equal(pool, expected)


@pytest.fixture(scope="module")
def tokenizer():
    return text.load_tokenizer("minilm")[0]


def test_line_tokens_average_states_and_append_numbers(tokenizer) -> None:
    enc = tokenizer([NOTE], truncation=True, max_length=64)
    n = len(enc["input_ids"][0])
    states = torch.arange(n, dtype=torch.float32).repeat(3, 1).T.unsqueeze(0)  # state = position
    mask = torch.ones(1, n, dtype=torch.bool)
    tokens, out_mask = line_tokens([NOTE], states, mask, tokenizer, 64, max_lines=8)
    assert tokens.shape == (1, 8, 3 + N_CHANNELS)
    assert out_mask[0].tolist() == [True] * 5 + [False] * 3
    firsts = tokens[0, :5, 0]
    assert bool(torch.all(firsts[1:] > firsts[:-1]))  # later lines average later word pieces
    assert tokens[0, 4, 3] == 0 and tokens[0, 3, 3] == 1  # "not measured" has no number
    assert tokens[0, 3, 4].item() == pytest.approx(np.log10(14.5), rel=1e-6)
    assert torch.all(tokens[0, 5:] == 0)


def test_line_tokens_refuse_states_of_another_tokenisation(tokenizer) -> None:
    states, mask = torch.zeros(1, 7, 3), torch.ones(1, 7, dtype=torch.bool)
    with pytest.raises(ValueError, match="word pieces but 7 token states"):
        line_tokens([NOTE], states, mask, tokenizer, 64)


def test_line_tokens_are_differentiable_in_the_states(tokenizer) -> None:
    enc = tokenizer([NOTE], truncation=True, max_length=64)
    n = len(enc["input_ids"][0])
    states = torch.randn(1, n, 4, requires_grad=True)
    tokens, _ = line_tokens([NOTE], states, torch.ones(1, n, dtype=torch.bool), tokenizer, 64)
    tokens[..., :4].sum().backward()
    assert states.grad is not None and states.grad.abs().sum() > 0
    assert states.grad[0, 0].abs().sum() == 0  # [CLS] belongs to no line
