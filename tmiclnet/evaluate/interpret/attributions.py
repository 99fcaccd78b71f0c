"""Which words of a note moved the predicted risk: integrated gradients on what the model read.

The attributions are taken on the tokens the model read (line tokens with their number channels,
made from the frozen word-piece states exactly as in training), from the average training note
(`text_baseline`), and handed back to each word piece by the line pooling. The baseline is that
average, not zeros: from zeros (plain gradient x input) a number's attribution is its value times
the gradient, so any albumin, low or high, would "lower" the risk; from the mean, a below-average
albumin raises it. Completeness holds: the attributions sum to the change of the log-odds between
the average note and this one, which the result carries to be checked.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from tmiclnet.evaluate.saved import SavedFold, repeat_rows


def note_states(note: str, profile) -> torch.Tensor:
    """(1, n, H) token states of one note from the profile's frozen language model (n tokens).

    Used by notebook 13 (interpretation).

    Args:
        note: the clinical note's text.
        profile: the run's profile (`run.profile`): names the language model and its token limit.
    """
    from tmiclnet import text

    emb = text.embed({"note": note}, profile.text_model, profile.text_max_tokens)
    return emb.tokens[:, : int(emb.mask[0].sum())]


def line_field(line: str) -> str:
    """What a note line reports, without its value: the text before its first number ("- Albumin"
    of "- Albumin 3.48 g/dL"), or its first word when it has none; lower case."""
    from tmiclnet.text.lines import NUMBER

    match = NUMBER.search(line)
    head = line[: match.start()] if match else (line.split() or [""])[0]
    return head.strip().lower()


def text_baseline(
    fold: SavedFold, note_of=None, note: str | None = None, profile=None
) -> torch.Tensor:
    """(L, C) the average training note as the model read it: for each line of `note`, the mean
    token of the lines reporting the same field (`line_field`) in the fold's TRAINING patients'
    notes (the templates order lines differently, so a position is not a field); without notes,
    the mean token at each position. Zero where no training patient has one.

    Used by notebook 13 (interpretation).

    Args:
        fold: the fold's inputs and saved models (`tmiclnet.evaluate.saved.saved_fold`).
        note_of: patient id -> note text (e.g. ``cohort.note``); None: mean by position.
        note: the note whose lines the baseline is for; None: mean by position.
        profile: the run's profile (its `text_lines`); None: mean by position.
    """
    from tmiclnet.text.lines import line_spans

    ids = list(fold.fin.split.train)
    train = fold.fin.data.subset(ids).inputs
    tokens, mask = train["text_tokens"].float(), train["text_mask"]
    weight = mask.unsqueeze(-1).float()
    by_position = (tokens * weight).sum(0) / weight.sum(0).clamp(min=1.0)
    if note_of is None or note is None or profile is None or not profile.text_lines:
        return by_position
    sums: dict[str, torch.Tensor] = {}
    counts: dict[str, int] = {}
    for row, pid in enumerate(ids):
        text = note_of(pid)
        for pos, (a, b) in enumerate(line_spans(text)[: profile.text_lines]):
            if bool(mask[row, pos]):
                key = line_field(text[a:b])
                sums[key] = sums.get(key, 0) + tokens[row, pos]
                counts[key] = counts.get(key, 0) + 1
    out = by_position.clone()
    for pos, (a, b) in enumerate(line_spans(note)[: profile.text_lines]):
        key = line_field(note[a:b])
        if key in counts:
            out[pos] = sums[key] / counts[key]
    return out


def _pooling(note: str, n: int, tokenizer, profile) -> torch.Tensor:
    """(tokens read, n) matrix that turned the note's n word pieces into what the model read."""
    from tmiclnet.text import lines

    if not profile.text_lines:
        return torch.eye(n)
    enc = tokenizer(
        [note], truncation=True, max_length=profile.text_max_tokens, return_offsets_mapping=True
    )
    offsets = [tuple(o) for o in enc["offset_mapping"][0]][:n]
    return lines.line_pooling(lines.line_spans(note), offsets, profile.text_lines)


def integrated_gradients(f, x: torch.Tensor, base: torch.Tensor, steps: int = 32):
    """(attribution, mean gradient) of scalar-per-row `f` from `base` to `x` (same shape), by the
    midpoint rule: the attributions sum to about f(x) - f(base) (completeness)."""
    alphas = (torch.arange(steps, dtype=x.dtype) + 0.5) / steps
    path = (base + alphas.view(-1, *[1] * x.dim()) * (x - base)).detach().requires_grad_(True)
    f(path).sum().backward()
    grad = path.grad.mean(0)
    return (x - base) * grad, grad


def token_attributions(
    fold: SavedFold,
    name: str,
    patient: int,
    tokenizer,
    note: str,
    states: torch.Tensor,
    profile,
    baseline: torch.Tensor | None = None,
    steps: int = 32,
) -> pd.DataFrame:
    """Integrated gradients per word piece of one patient's note, for the log-odds of label 1,
    from the average training note (`text_baseline`).

    `states` (1, n, H) are the note's word-piece states (`note_states`), turned into what the
    model read exactly as in training (`tmiclnet.text.frozen_text_tokens`: line tokens with their
    numbers, or word pieces) and checked against the model's batch. The attribution of each token
    read is handed back to its word pieces by the pooling (a word piece gets its share of the
    line it fell in). `.attrs["lines"]` has, per token read, its text, number, and the
    attributions of its word-piece part and of its number channels; `.attrs["total"]` the sum
    of every attribution and `.attrs["gap"]` the log-odds change from the baseline it matches.
    Returns DataFrame(token, attribution).

    Used by notebook 13 (interpretation).

    Args:
        fold: the fold's test patients and saved models (`tmiclnet.evaluate.saved.saved_fold`).
        name: the catalogue name of a model saved in that fold, e.g. ``tmiclnet_tokens``.
        patient: row of the patient among the fold's test patients (0-based).
        tokenizer: the profile's tokenizer (`tmiclnet.text.load_tokenizer`).
        note: that patient's note text (the one `states` were computed from).
        states: (1, n, H) word-piece states of `note`, from `note_states`.
        profile: the run's profile (`run.profile`), as the model was trained with.
        baseline: (L, C) text tokens to start from; None: `text_baseline(fold)` by position
            (pass `text_baseline(fold, cohort.note, note, profile)` to match lines by field).
            Zeros give plain gradient x input's reference point.
        steps: points on the straight path from the baseline.
    """
    from tmiclnet.text import frozen_text_tokens, lines

    model, _ = fold.model(name)
    batch = fold.model_batch(name, fold.patient_inputs(patient))
    if "text_tokens" not in batch:
        raise ValueError(
            f"{name}: token attributions need cached text token states (text_finetune=False)"
        )
    raw = states.detach().float()
    mask = torch.ones(raw.shape[:2], dtype=torch.bool)
    scale = getattr(fold.fin, "text_scale", None)  # the value statistics the model was given
    seen, _ = frozen_text_tokens(raw, mask, [note], profile, tokenizer, scale)
    length = batch["text_tokens"].shape[1]
    if seen.shape[1] > length:
        raise ValueError(f"{seen.shape[1]} text tokens for a model batch of {length}")
    seen = torch.nn.functional.pad(seen, (0, 0, 0, length - seen.shape[1]))[0]
    if seen.shape != batch["text_tokens"].shape[1:] or not torch.allclose(
        seen.to(batch["text_tokens"].device), batch["text_tokens"][0], atol=1e-4
    ):
        raise ValueError(
            "the note's token states differ from those the model was given (another "
            "note, text model, token budget or pooling?)"
        )
    base = (text_baseline(fold) if baseline is None else baseline).float()[:length]
    base = torch.nn.functional.pad(base, (0, 0, 0, length - base.shape[0]))
    keep = batch["text_mask"][0].cpu()
    base = torch.where(keep.unsqueeze(-1), base, seen)  # padding: nothing to attribute

    def log_odds(text_tokens: torch.Tensor) -> torch.Tensor:
        many = {k: repeat_rows(v, len(text_tokens)) for k, v in batch.items() if k != "text_tokens"}
        many["text_tokens"] = text_tokens.to(batch["text_mask"].device)
        logits = model(many)["logits"]
        return logits[:, 1] - logits[:, 0]

    was_training = model.training
    model.eval()
    attr, grad = integrated_gradients(log_odds, seen, base, steps)
    with torch.no_grad():
        ends = log_odds(torch.stack([seen, base]))
    gap = float(ends[0] - ends[1])
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    h = raw.shape[-1]
    n = raw.shape[1]
    pool = _pooling(note, n, tokenizer, profile)[: seen.shape[0]]  # (read, n)
    member = (pool > 0).to(raw.dtype)
    piece_base = member.T @ base[: pool.shape[0], :h]  # each piece starts from its line's mean
    piece_grad = pool.T @ grad[: pool.shape[0], :h]
    attribution = ((raw[0] - piece_base) * piece_grad).sum(-1).detach().numpy()
    ids = tokenizer([note], truncation=True, max_length=profile.text_max_tokens)["input_ids"][0][:n]
    tokens = tokenizer.convert_ids_to_tokens(ids)
    out = pd.DataFrame({"token": tokens, "attribution": attribution[: len(tokens)]})
    read = attr.sum(-1) if not profile.text_lines else attr[:, :h].sum(-1)
    numbers = attr[:, h:].sum(-1) if profile.text_lines else torch.zeros_like(read)
    out.attrs["total"] = float((read + numbers)[keep].sum())
    out.attrs["gap"] = gap
    if profile.text_lines:
        spans = lines.line_spans(note)[: profile.text_lines]
        out["line"], out["number"] = _piece_lines(note, spans, numbers, tokenizer, profile, n)
        out.attrs["lines"] = pd.DataFrame(
            {
                "line": [note[a:b] for a, b in spans],
                "number": [lines.first_number(note[a:b]) for a, b in spans],
                "training mean": _mean_number([note[a:b] for a, b in spans], scale),
                "words": read[: len(spans)].detach().numpy(),
                "number channels": numbers[: len(spans)].detach().numpy(),
            }
        )
    return out


def _piece_lines(note: str, spans, numbers: torch.Tensor, tokenizer, profile, n: int):
    """Per word piece: the line it belongs to (-1: none) and its share of that line's number
    channels. The number channels encode the line's first number, so their attribution goes to
    the pieces that spell it, equally: a piece's `attribution + number` then sums, over a line,
    to the line's whole contribution (the note's colours follow what each line added)."""
    from tmiclnet.text.lines import NUMBER

    enc = tokenizer(
        [note], truncation=True, max_length=profile.text_max_tokens, return_offsets_mapping=True
    )
    offsets = [tuple(o) for o in enc["offset_mapping"][0]][:n]
    line = np.full(len(offsets), -1)
    share = np.zeros(len(offsets))
    for i, (a, b) in enumerate(spans):
        inside = [j for j, (s, e) in enumerate(offsets) if e > s and a <= s and e <= b]
        line[inside] = i
        match = NUMBER.search(note[a:b])
        if match is None:
            continue
        lo, hi = a + match.start(), a + match.end()
        spell = [j for j in inside if offsets[j][0] < hi and offsets[j][1] > lo]
        if spell:
            share[spell] = float(numbers[i]) / len(spell)
    return line, share


def _mean_number(note_lines: list[str], scale) -> np.ndarray:
    """Training patients' geometric mean of each line's field (10 ** the fold's mean log10,
    `tmiclnet.text.FieldScale`): NaN where the line states no value of a scaled field."""
    from tmiclnet.text.lines import field_name

    where = {f: i for i, f in enumerate(scale.fields)} if scale is not None else {}
    out = []
    for line in note_lines:
        i = where.get(field_name(line))
        usable = i is not None and float(scale.sd[i]) > 0
        out.append(float(10 ** float(scale.mean[i])) if usable else np.nan)
    return np.array(out)
