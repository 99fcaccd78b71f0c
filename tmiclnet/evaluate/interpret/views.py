"""What the interpretation page shows of the numbers: sentences, a table of lines, a coloured note.

Everything here reads what `permutation` and `attributions` computed and computes nothing new, so
the page's wording can change without touching a number. The sentences are built from the numbers
they describe, so the prose follows each profile's results and cannot contradict its tables.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd


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
