"""Inside a trained TMI-CLNet: cross-modal attention, CT occlusion, radiomic families, words.

All four read a `SavedFold` (the fold's test patients and saved weights); nothing is trained.

- Cross-modal attention: in the token variant's TCAF each modality's vector queries the tokens of
  the other two; summing a query's attention over each modality's tokens says where it looked.
- Occlusion on CT: each block of the volume is replaced by the volume's mean and the change in
  P(death within 5 years) is recorded (Zeiler & Fergus, 2014): model-agnostic and exact, if coarse.
- Permutation importance of radiomic families: the columns of one family are shuffled together
  across test patients (so within-family correlations survive) and the AUC drop is measured.
- Token attributions: gradient x input on the frozen language model's word-piece states (turned
  into line tokens exactly as in training), summed over channels: one signed number per word piece.
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

    Used by notebook 11 (interpretation).

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

    Used by notebook 11 (interpretation).

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

    Used by notebook 11 (interpretation).

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

    Used by notebook 11 (interpretation).

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
    out = {}
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
    return pd.Series(out, name="AUC drop").sort_values(ascending=False)


def note_states(note: str, profile) -> torch.Tensor:
    """(1, n, H) token states of one note from the profile's frozen language model (n tokens).

    Used by notebook 11 (interpretation).

    Args:
        note: the clinical note's text.
        profile: the run's profile (`run.profile`): names the language model and its token limit.
    """
    from tmiclnet import text

    emb = text.embed({"note": note}, profile.text_model, profile.text_max_tokens)
    return emb.tokens[:, : int(emb.mask[0].sum())]


def token_attributions(
    fold: SavedFold, name: str, patient: int, tokenizer, note: str, states: torch.Tensor, profile
) -> pd.DataFrame:
    """Gradient x input per word piece of one patient's note, for the log-odds of label 1.

    `states` (1, n, H) are the note's word-piece states (`note_states`). They are turned into
    what the model read exactly as in training (`tmiclnet.text.frozen_text_tokens`: line tokens
    with their numbers, or word pieces), differentiably, so each word piece gets its share of the
    line it fell in. With line tokens, the share of each line's
    number channels is in `.attrs["numbers"]` (line, number, attribution).
    Returns DataFrame(token, attribution).

    Used by notebook 11 (interpretation).

    Args:
        fold: the fold's test patients and saved models (`tmiclnet.evaluate.saved.saved_fold`).
        name: the catalogue name of a model saved in that fold, e.g. ``tmiclnet_tokens``.
        patient: row of the patient among the fold's test patients (0-based).
        tokenizer: the profile's tokenizer (`tmiclnet.text.load_tokenizer`).
        note: that patient's note text (the one `states` were computed from).
        states: (1, n, H) word-piece states of `note`, from `note_states`.
        profile: the run's profile (`run.profile`), as the model was trained with.
    """
    from tmiclnet.text import frozen_text_tokens, lines

    model, _ = fold.model(name)
    batch = fold.model_batch(name, _rows(fold.test.inputs, patient, patient + 1))
    if "text_tokens" not in batch:
        raise ValueError(
            f"{name}: token attributions need cached text token states (text_finetune=False)"
        )
    raw = states.detach().clone().float().requires_grad_(True)
    mask = torch.ones(raw.shape[:2], dtype=torch.bool)
    seen, seen_mask = frozen_text_tokens(raw, mask, [note], profile, tokenizer)
    length = batch["text_tokens"].shape[1]
    if seen.shape[1] > length:
        raise ValueError(f"{seen.shape[1]} text tokens for a model batch of {length}")
    seen = torch.nn.functional.pad(seen, (0, 0, 0, length - seen.shape[1]))
    seen.retain_grad()
    seen_mask = torch.nn.functional.pad(seen_mask, (0, length - seen_mask.shape[1]))
    if seen.shape != batch["text_tokens"].shape or not torch.allclose(
        seen.detach().to(batch["text_tokens"].device), batch["text_tokens"], atol=1e-4
    ):
        raise ValueError(
            "the note's token states differ from those the model was given (another "
            "note, text model, token budget or pooling?)"
        )
    batch["text_tokens"], batch["text_mask"] = (
        seen.to(batch["text_tokens"].device),
        seen_mask.to(batch["text_mask"].device),
    )
    logits = model(batch)["logits"][0]
    (logits[1] - logits[0]).backward()
    attribution = (raw.grad * raw).sum(-1)[0].detach().cpu().numpy()
    ids = tokenizer([note], truncation=True, max_length=profile.text_max_tokens)["input_ids"][0][
        : raw.shape[1]
    ]
    tokens = tokenizer.convert_ids_to_tokens(ids)
    out = pd.DataFrame({"token": tokens, "attribution": attribution[: len(tokens)]})
    if profile.text_lines:
        h = raw.shape[-1]
        share = (seen.grad[0, :, h:] * seen[0, :, h:]).sum(-1).detach().cpu().numpy()
        spans = lines.line_spans(note)[: profile.text_lines]
        out.attrs["numbers"] = pd.DataFrame(
            {
                "line": [note[a:b] for a, b in spans],
                "number": [lines.first_number(note[a:b]) for a, b in spans],
                "attribution": share[: len(spans)],
            }
        )
    return out


def note_html(attr: pd.DataFrame) -> str:
    """The note's word pieces coloured by attribution (red raises the predicted risk, blue lowers
    it).

    Used by notebook 11 (interpretation).

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
