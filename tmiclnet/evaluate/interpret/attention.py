"""Where TCAF looked: each modality's query attention, summed over the other modalities' tokens.

Only the token variant of TMI-CLNet keeps one token per radiomic family and per CT patch, so only
it has maps to read; any other model is refused with the names of the maps it has.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from tmiclnet.evaluate.saved import SavedFold


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
