"""Attention before and after training: a fold's trained model beside the same network at
initialisation, on the fold's test patients.

Pages 05 (IMA) and 06 (TCAF) first show the modules at initialisation, where pooling is nearly
uniform and cross-attention nearly flat: that is what an untrained module does, not what the
model learns. Here the same architecture, rebuilt from the fold's saved build config with fresh
weights, and the trained checkpoint read the same test patients, and the tables and sentences
say, from one set of numbers, how far each moved from uniform.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from tmiclnet.claims import Claims
from tmiclnet.evaluate.saved import SavedFold

WORDS = {"ct": "CT", "radiomics": "radiomics", "text": "note"}
CAPTION = (
    "means over the fold's test patients; max: the largest weight; even: evenness (1 = uniform); "
    "init: at initialisation"
)


def attention_pair(fold: SavedFold, name: str = "tmiclnet_tokens", seed: int = 0):
    """(untrained, trained) attention maps of model `name` on the fold's test patients, and the
    batch's token mask per modality.

    Used by notebooks 05 (IMA) and 06 (TCAF).

    Args:
        fold: the fold (`tmiclnet.evaluate.saved.saved_fold`) whose model `name` is trained.
        name: a token-variant catalogue model saved in that fold.
        seed: the seed of the fresh weights.
    """
    from tmiclnet.models import build

    model, config = fold.model(name)
    torch.manual_seed(seed)
    fresh = build(name, **config).to(fold.device).eval()
    batch = fold.model_batch(name)
    with torch.no_grad():
        before = {k: v.float().cpu() for k, v in fresh(batch)["attention"].items()}
        after = {k: v.float().cpu() for k, v in model(batch)["attention"].items()}
    return before, after


def _evenness(w: torch.Tensor) -> torch.Tensor:
    """Per row: entropy of the weights over the tokens that receive any, / log(that count):
    1 for uniform weights, 0 for all weight on one token."""
    real = w > 0
    n = real.sum(-1).clamp(min=2).float()
    ent = -(w.clamp(min=1e-12).log() * w).sum(-1)
    return ent / n.log()


def _spread_row(before: torch.Tensor, after: torch.Tensor, count: str) -> dict[str, str]:
    """One table row for attention rows untrained (`before`) and trained (`after`): how many
    entries a row spreads over (named `count`), the uniform weight over them, and the mean largest
    weight and evenness of each."""
    n = int((after > 0).sum(-1).float().mean().round())
    return {
        count: str(n),
        "uniform": f"{1 / max(n, 1):.3f}",
        "max init": f"{float(before.max(-1).values.mean()):.3f}",
        "max trained": f"{float(after.max(-1).values.mean()):.3f}",
        "even init": f"{float(_evenness(before).mean()):.2f}",
        "even trained": f"{float(_evenness(after).mean()):.2f}",
    }


def pooling_claims(before: dict, after: dict, modalities=("ct", "radiomics", "text")) -> Claims:
    """IMA's pooling weights, untrained and trained, per modality: the mean largest weight and
    the mean evenness (1 = uniform) over the test patients, with the sentences quoting them.

    Used by notebook 05 (IMA).

    Args:
        before: attention maps of the untrained model (`attention_pair`).
        after: attention maps of the trained model.
        modalities: the modalities whose `ima/<m>/pool` maps to read.
    """
    rows = {}
    for m in modalities:
        b, a = before[f"ima/{m}/pool"], after[f"ima/{m}/pool"]
        rows[WORDS[m]] = _spread_row(b, a, "tokens")
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("modality")
    words = [
        f"{m}: the largest pooling weight moves from {r['max init']} at initialisation "
        f"to {r['max trained']} after training (uniform over {r['tokens']} tokens: "
        f"{r['uniform']}); evenness {r['even init']} -> {r['even trained']}."
        for m, r in rows.items()
    ]
    return Claims(table, words, caption=CAPTION)


def tcaf_claims(before: dict, after: dict, modalities=("ct", "radiomics", "text")) -> Claims:
    """TCAF's cross-attention, untrained and trained: per query modality the mean largest weight
    over the keys of the other modalities and the mean evenness, with sentences quoting them.

    Used by notebook 06 (TCAF).

    Args:
        before: attention maps of the untrained model (`attention_pair`).
        after: attention maps of the trained model.
        modalities: the query modalities whose `tcaf/<m>` maps to read.
    """
    rows = {}
    for m in modalities:
        b, a = before[f"tcaf/{m}"], after[f"tcaf/{m}"]
        if b.dim() > 2:  # (B, heads or queries, keys): one row per head
            b, a = b.flatten(0, -2), a.flatten(0, -2)
        rows[WORDS[m]] = _spread_row(b, a, "keys")
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("query")
    words = [
        f"{q} queries: the largest weight on one key moves from {r['max init']} to "
        f"{r['max trained']} with training (uniform over {r['keys']} keys: "
        f"{r['uniform']}); evenness {r['even init']} -> {r['even trained']}."
        for q, r in rows.items()
    ]
    return Claims(table, words, caption=CAPTION)


def pair_figure(
    before: torch.Tensor, after: torch.Tensor, labels: list[str], title: str, patient: int = 0
) -> plt.Figure:
    """One patient's attention weights over tokens, untrained (grey) beside trained (blue),
    as horizontal bars labelled by token so that every label reads at the column's width.

    Used by notebooks 05 (IMA) and 06 (TCAF).

    Args:
        before: (B, N) weights of the untrained model.
        after: (B, N) weights of the trained model.
        labels: the N tokens' names (fewer: only the first shown).
        title: the figure's title.
        patient: the row to show.
    """
    n = len(labels)
    b = before[patient, :n].numpy()
    a = after[patient, :n].numpy()
    y = np.arange(n)
    fig, ax = plt.subplots(figsize=(7.5, 0.26 * n + 1.6))
    ax.barh(y - 0.2, b, height=0.4, color="#7f7f7f", label="at initialisation")
    ax.barh(y + 0.2, a, height=0.4, color="#1f77b4", label="trained (fold 0)")
    ax.axvline(1 / max(n, 1), color="black", lw=0.8, ls=":", label="uniform")
    ax.set_yticks(y, labels, fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel("attention weight")
    ax.set_title(title, pad=26)
    # above the bars, under the title: inside the axes it would cover the longest bars
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)
    return fig
