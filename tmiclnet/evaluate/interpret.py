"""Inside a trained TMI-CLNet: cross-modal attention, CT occlusion, radiomic families, words.

All four read a `SavedFold` (the fold's test patients and saved weights); nothing is trained.

- Cross-modal attention: in the token variant's TCAF each modality's vector queries the tokens of
  the other two; summing a query's attention over each modality's tokens says where it looked.
- Occlusion on CT: each block of the volume is replaced by the volume's mean and the change in
  P(death within 5 years) is recorded (Zeiler & Fergus, 2014): model-agnostic and exact, if coarse.
- Permutation importance of radiomic families: the columns of one family are shuffled together
  across test patients (so within-family correlations survive) and the AUC drop is measured.
- Token attributions: integrated gradients (Sundararajan et al., 2017) from the training
  patients' mean text tokens to this note's, on what the model read (line tokens with their
  number channels, made from the frozen word-piece states exactly as in training), handed back
  to each word piece by the line pooling. The baseline is the average training note, not zeros:
  with a zero baseline (plain gradient x input) a number's attribution is its value times the
  gradient, so any albumin, low or high, "lowers" the risk when higher albumin does; from the
  mean, a below-average albumin raises it. Attributions sum to the change of the log-odds
  between the average note and this one.
  Attention weights are not explanations (Jain & Wallace, 2019); the book shows both.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score

from tmiclnet.evaluate.saved import SavedFold


def _rows(inputs: dict, start: int, stop: int) -> dict:
    """Rows start:stop of every input tensor (nested dicts too)."""
    return {
        k: (_rows(v, start, stop) if isinstance(v, dict) else v[start:stop])
        for k, v in inputs.items()
    }


def _token_maps(fold: SavedFold, name: str) -> tuple[tuple[str, ...], dict, dict[str, int]]:
    """(modalities, attention maps, tokens per modality) of a token-variant model on the fold."""
    model, _ = fold.model(name)
    with torch.no_grad():
        att = model(fold.model_batch(name))["attention"]
    mods = tuple(model.modalities)
    if not all(f"tcaf/{m}" in att and f"ima/{m}/pool" in att for m in mods):
        got = sorted(att)
        raise ValueError(f"{name}: no token TCAF/IMA attention maps (token variant only); {got}")
    return mods, att, {m: att[f"ima/{m}/pool"].shape[1] for m in mods}


def modality_attention(fold: SavedFold, name: str = "tmiclnet_tokens") -> pd.DataFrame:
    """Query modality x key modality: mean share of TCAF attention (rows sum to 1).

    Used by notebook 13 (interpretation).

    Args:
        fold: the fold's test patients and saved models (`tmiclnet.evaluate.saved.saved_fold`).
        name: a model saved in that fold with token TCAF/IMA attention maps, e.g.
            ``tmiclnet_tokens``.
    """
    mods, att, counts = _token_maps(fold, name)
    table = pd.DataFrame(0.0, index=pd.Index(mods, name="query"), columns=list(mods))
    for q in mods:
        w = att[f"tcaf/{q}"].float()
        start = 0
        for k in (m for m in mods if m != q):
            table.loc[q, k] = float(w[:, start : start + counts[k]].sum(1).mean())
            start += counts[k]
    return table.div(table.sum(1).replace(0, np.nan), axis=0)


def family_attention(fold: SavedFold, name: str = "tmiclnet_tokens") -> pd.Series:
    """Mean TCAF attention that the CT and text queries give each radiomic family token.

    Used by notebook 13 (interpretation).

    Args:
        fold: as for `modality_attention`.
        name: as for `modality_attention`.
    """
    from tmiclnet.radiomics import feature_families

    mods, att, counts = _token_maps(fold, name)
    families = list(feature_families(fold.fin.rad_columns))
    if counts.get("radiomics") != len(families):
        raise ValueError(
            f"{name}: {counts.get('radiomics')} radiomic tokens for {len(families)} families"
        )
    total = torch.zeros(len(families))
    for q in (m for m in mods if m != "radiomics"):
        start = sum(counts[k] for k in mods if k != q and mods.index(k) < mods.index("radiomics"))
        total += att[f"tcaf/{q}"][:, start : start + len(families)].float().mean(0).cpu()
    return pd.Series(
        total.numpy() / max(1, len(mods) - 1), index=families, name="attention"
    ).sort_values(ascending=False)


def ct_occlusion(
    fold: SavedFold,
    name: str,
    patient: int,
    blocks: tuple[int, int, int] = (4, 8, 8),
    chunk: int = 32,
) -> np.ndarray:
    """Change of P(label=1) when each block of patient `patient`'s CT is set to the volume mean.

    Returns a (D, H, W) map (positive = the block pushed the risk up) on the CT grid.

    Used by notebook 13 (interpretation).

    Args:
        fold: the fold's test patients and saved models (`tmiclnet.evaluate.saved.saved_fold`).
        name: the catalogue name of a model saved in that fold, e.g. ``tmiclnet_tokens``.
        patient: row of the patient among the fold's test patients (0-based).
        blocks: how many blocks the CT is cut into along (D, H, W).
        chunk: occluded volumes per forward pass (bounds the memory used).
    """
    inputs = _rows(fold.test.inputs, patient, patient + 1)
    ct = inputs["ct"]
    d, h, w = ct.shape[2:]
    edges = [np.linspace(0, s, b + 1).round().astype(int) for s, b in zip((d, h, w), blocks)]
    cells = [
        (a, b, c) for a in range(blocks[0]) for b in range(blocks[1]) for c in range(blocks[2])
    ]
    base = float(fold.probs(name, inputs)[0])
    fill = float(ct.mean())
    drops = []
    for start in range(0, len(cells), chunk):
        part = cells[start : start + chunk]
        vols = ct.repeat(len(part), 1, 1, 1, 1)
        for i, (a, b, c) in enumerate(part):
            vols[
                i,
                :,
                edges[0][a] : edges[0][a + 1],
                edges[1][b] : edges[1][b + 1],
                edges[2][c] : edges[2][c + 1],
            ] = fill
        batch = {k: (vols if k == "ct" else _repeat(v, len(part))) for k, v in inputs.items()}
        drops += (base - fold.probs(name, batch)).tolist()
    out = np.zeros((d, h, w), dtype=np.float32)
    for (a, b, c), value in zip(cells, drops):
        out[
            edges[0][a] : edges[0][a + 1],
            edges[1][b] : edges[1][b + 1],
            edges[2][c] : edges[2][c + 1],
        ] = value
    return out


def _repeat(v, n: int):
    if isinstance(v, dict):
        return {k: _repeat(x, n) for k, x in v.items()}
    return v.repeat(n, *([1] * (v.dim() - 1)))


def family_permutation_importance(
    fold: SavedFold, name: str, n_repeats: int = 5, seed: int = 0
) -> pd.Series:
    """AUC drop when one radiomic family is shuffled across the fold's test patients.

    Used by notebook 13 (interpretation).

    Args:
        fold: the fold's test patients and saved models (`tmiclnet.evaluate.saved.saved_fold`).
        name: the catalogue name of a model saved in that fold, e.g. ``tmiclnet_tokens``.
        n_repeats: shuffles per family; the AUC drops are averaged over them.
        seed: seed of the shuffles.
    """
    from tmiclnet.radiomics import feature_families

    y = fold.test.labels.numpy()
    base = roc_auc_score(y, fold.probs(name).numpy())
    rad = fold.test.inputs["radiomics"]
    position = {c: i for i, c in enumerate(fold.fin.rad_columns)}
    rng = np.random.default_rng(seed)
    out, spread = {}, {}
    for family, cols in feature_families(fold.fin.rad_columns).items():
        idx = torch.tensor([position[c] for c in cols])
        drops = []
        for _ in range(n_repeats):
            perm = torch.from_numpy(rng.permutation(len(y)))
            shuffled = rad.clone()
            shuffled[:, idx] = rad[perm][:, idx]
            p = fold.probs(name, {**fold.test.inputs, "radiomics": shuffled}).numpy()
            drops.append(base - roc_auc_score(y, p))
        out[family] = float(np.mean(drops))
        spread[family] = float(np.std(drops, ddof=1)) if len(drops) > 1 else 0.0
    series = pd.Series(out, name="AUC drop").sort_values(ascending=False)
    series.attrs["sd"] = pd.Series(spread, name="sd").reindex(series.index)
    return series


def importance_remark(importance: pd.Series) -> str:
    """What a permutation importance table says, in words built from it: how many families have a
    negative importance and whether any drop stands out of the shuffle-to-shuffle spread.

    A negative importance means that shuffling the family RAISED the test AUC a little: the model
    does not use that family, and the change is noise of a few test patients changing rank.

    Used by notebook 13 (interpretation).

    Args:
        importance: the Series from `family_permutation_importance` (its `.attrs["sd"]` is read).
    """
    sd = importance.attrs.get("sd", pd.Series(0.0, index=importance.index)).fillna(0.0)
    n, neg = len(importance), int((importance < 0).sum())
    clear = importance[importance > 2 * sd.reindex(importance.index) + 1e-12]
    words = [
        f"{neg} of {n} radiomic families have a negative importance (shuffling them changed the "
        f"test AUC by {importance.min():+.3f} at most) and the largest drop is "
        f"{importance.max():.3f} ({importance.idxmax()})."
    ]
    if len(clear):
        words.append(
            "Families whose drop exceeds twice its shuffle-to-shuffle sd: "
            + ", ".join(f"{f} ({v:.3f})" for f, v in clear.items())
            + "."
        )
        if neg:
            words.append(
                "A negative importance is not a family that misleads the model: shuffling it "
                "changed the ranks of a few test patients by chance, within the fold's "
                "variance; the model does not use it."
            )
    else:
        words.append(
            "No drop exceeds twice its shuffle-to-shuffle sd: on this fold the model does not "
            "rely on any radiomic family, and a negative value is noise (a few test patients "
            "changing rank), not a family that hurts."
        )
    return " ".join(words)


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
    batch = fold.model_batch(name, _rows(fold.test.inputs, patient, patient + 1))
    if "text_tokens" not in batch:
        raise ValueError(
            f"{name}: token attributions need cached text token states (text_finetune=False)"
        )
    raw = states.detach().float()
    mask = torch.ones(raw.shape[:2], dtype=torch.bool)
    seen, _ = frozen_text_tokens(raw, mask, [note], profile, tokenizer)
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
        many = {k: _repeat(v, len(text_tokens)) for k, v in batch.items() if k != "text_tokens"}
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
        out.attrs["lines"] = pd.DataFrame(
            {
                "line": [note[a:b] for a, b in spans],
                "number": [lines.first_number(note[a:b]) for a, b in spans],
                "training mean": _mean_number(base[: len(spans), h:]),
                "words": read[: len(spans)].detach().numpy(),
                "number channels": numbers[: len(spans)].detach().numpy(),
            }
        )
    return out


def strongest_lines(attr: pd.DataFrame, top: int = 8, width: int = 28) -> pd.DataFrame | None:
    """The `top` note lines with the largest total attribution (word pieces + number channels),
    each line shortened for the page (no leading dash or reference range, at most `width`
    characters), with the training patients' mean of its number. None when the model read word
    pieces, not lines.

    Used by notebook 13 (interpretation).

    Args:
        attr: `token_attributions`'s table (its `.attrs["lines"]`).
        top: how many lines.
        width: the longest line shown, in characters.
    """
    table = attr.attrs.get("lines") if attr is not None else None
    if table is None:
        return None
    short = (
        table["line"]
        .str.replace(r"^\s*-\s*", "", regex=True)
        .str.replace(r"\s*\(ref [^)]*\)", "", regex=True)
        .map(lambda t: t if len(t) <= width else t[: width - 1] + "…")
    )
    out = pd.DataFrame(
        {
            "line": short,
            "train mean": table["training mean"].map(lambda v: f"{v:.3g}" if pd.notna(v) else ""),
            "words": table["words"],
            "number": table["number channels"],
            "total": table["words"] + table["number channels"],
        }
    )
    order = out["total"].abs().sort_values(ascending=False).index
    return out.reindex(order).head(top).round(3)


def _mean_number(channels: torch.Tensor) -> np.ndarray:
    """Training patients' geometric mean of each line's number, from the baseline's number
    channels ([has a number, log10 value, ...] averaged): NaN where none had a number."""
    has, log10 = channels[:, 0].double(), channels[:, 1].double()
    out = torch.where(has > 0, 10 ** (log10 / has.clamp(min=1e-12)), torch.nan)
    return out.numpy()


def token_remark(attr: pd.DataFrame, field: str = "albumin") -> str:
    """What the note's attributions say, in words built from them: the share of punctuation among
    the strongest word pieces, and the sign of one field's number (albumin by default) against
    the training patients' average.

    Used by notebook 13 (interpretation).

    Args:
        attr: DataFrame(token, attribution) from `token_attributions` (its `.attrs["lines"]`).
        field: a word of the line whose number to discuss.
    """
    words = [
        f"{100 * punctuation_share(attr):.0f} % of the 10 strongest word pieces are punctuation."
    ]
    table = attr.attrs.get("lines")
    hit = table[table["line"].str.contains(field, case=False)] if table is not None else None
    if hit is not None and len(hit) and pd.notna(hit["number"].iloc[0]):
        row = hit.iloc[0]
        side = "below" if row["number"] < row["training mean"] else "above"
        effect = "raises" if row["number channels"] > 0 else "lowers"
        words.append(
            f"This patient's {field} ({row['number']:g}) is {side} the training patients' "
            f"average ({row['training mean']:.3g}); measured from that average, its value "
            f"{effect} the log-odds by {abs(row['number channels']):.2g} (number channels)."
        )
    return " ".join(words)


def punctuation_share(attr: pd.DataFrame, top: int = 10) -> float:
    """Share of the `top` word pieces with the largest absolute attribution that are
    punctuation.

    Used by notebook 13 (interpretation).

    Args:
        attr: DataFrame(token, attribution) from `token_attributions`.
        top: how many of the largest word pieces to look at.
    """
    biggest = attr.reindex(attr["attribution"].abs().sort_values(ascending=False).index).head(top)
    return float(biggest["token"].map(lambda t: not any(ch.isalnum() for ch in t)).mean())


def note_html(attr: pd.DataFrame) -> str:
    """The note's word pieces coloured by attribution (red raises the predicted risk, blue lowers
    it).

    Used by notebook 13 (interpretation).

    Args:
        attr: DataFrame(token, attribution) from `token_attributions`.
    """
    scale = float(np.abs(attr["attribution"]).max()) or 1.0
    spans = []
    for tok, a in zip(attr["token"], attr["attribution"]):
        if tok in ("[CLS]", "[SEP]", "[PAD]", "<s>", "</s>"):
            continue
        alpha = min(1.0, abs(a) / scale)
        rgb = "220,50,47" if a > 0 else "38,139,210"
        text = html.escape(tok[2:] if tok.startswith("##") else tok)
        sep = "" if tok.startswith("##") else " "
        spans.append(f'{sep}<span style="background: rgba({rgb},{alpha:.2f})">{text}</span>')
    return '<div style="line-height: 1.9; font-family: monospace">' + "".join(spans) + "</div>"
