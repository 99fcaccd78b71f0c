"""What the interpretation page shows of the numbers: sentences, a table of lines, a coloured note.

Everything here reads what `permutation` and `attributions` computed and computes nothing new, so
the page's wording can change without touching a number. The sentences are built from the numbers
they describe, so the prose follows each profile's results and cannot contradict its tables.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from tmiclnet.claims import Claims


def importance_claims(importance: pd.Series) -> Claims:
    """What a permutation importance table says, with the table: how many families have a
    negative importance, the largest drop, and which drops stand out of the shuffle-to-shuffle
    spread (more than twice its sd). The figure beside it should draw the same Series, every
    family (`plots.bar_figure(importance, ..., top=len(importance))`).

    A negative importance means that shuffling the family RAISED the test AUC a little: the model
    does not use that family, and the change is noise of a few test patients changing rank.

    Used by notebook 13 (interpretation).

    Args:
        importance: the Series from `family_permutation_importance` (its `.attrs["sd"]` is read).
    """
    sd = importance.attrs.get("sd", pd.Series(0.0, index=importance.index))
    sd = sd.reindex(importance.index).fillna(0.0)
    order = importance.sort_values(ascending=False).index
    clear = importance > 2 * sd + 1e-12
    table = pd.DataFrame(
        {
            "AUC drop": importance[order].map(lambda v: f"{v:+.4f}"),
            "sd": sd[order].map(lambda v: f"{v:.4f}"),
            "> 2 sd": clear[order].map({True: "yes", False: ""}),
        }
    ).rename_axis("family")
    n, neg, k = len(importance), int((importance < 0).sum()), int(clear.sum())
    low, high = order[-1], order[0]
    words = [
        f"{neg} of {n} radiomic families have a negative importance (the lowest, {low}, "
        f"{table.loc[low, 'AUC drop']}) and the largest drop is {table.loc[high, 'AUC drop']} "
        f"({high})."
    ]
    if k:
        words.append(
            f"{k} of {n} drops exceed twice their shuffle-to-shuffle sd: "
            + ", ".join(f"{f} ({table.loc[f, 'AUC drop']})" for f in order if clear[f])
            + "."
        )
        if neg:
            words.append(
                "A negative importance is not a family that misleads the model: shuffling it "
                "changed the ranks of a few test patients by chance; the model does not use it."
            )
    else:
        words.append(
            "No drop exceeds twice its shuffle-to-shuffle sd: on this fold the model does not "
            "rely on any radiomic family, and a negative value is noise (a few test patients "
            "changing rank), not a family that hurts."
        )
    caption = f"{n} families: {neg} negative, {k} of {n} beyond twice their sd."
    return Claims(table, words, caption=caption)


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


RAISES = (220, 50, 47)  # red: pushed the predicted risk up
LOWERS = (38, 139, 210)  # blue: pushed it down


def sign_colour(value: float, scale: float) -> str:
    """The note's colour for a contribution: red when it raised the predicted risk, blue when it
    lowered it, more opaque the larger it is against `scale` (a test holds the sign).

    Args:
        value: the contribution (log-odds).
        scale: the largest contribution shown (full opacity).
    """
    rgb = RAISES if value > 0 else LOWERS
    alpha = min(1.0, abs(value) / scale) if scale > 0 else 0.0
    return f"rgba({rgb[0]},{rgb[1]},{rgb[2]},{alpha:.2f})"


def contributions(attr: pd.DataFrame) -> pd.Series:
    """Each word piece's contribution: its own share plus, for the pieces that spell a line's
    number, their share of the line's number channels (zero where the model read word pieces).
    Over a line they sum to the line's total in `strongest_lines`."""
    extra = attr.get("number", 0.0)
    return attr["attribution"] + extra


def note_html(attr: pd.DataFrame) -> str:
    """The note's word pieces coloured by what they contributed (`contributions`: red raised the
    predicted risk, blue lowered it), each line opened by its total in log-odds (three decimals,
    as in the line table), in the colour of its sign, so a line's colour and its number in the
    line table agree.

    Used by notebook 13 (interpretation).

    Args:
        attr: DataFrame(token, attribution[, line, number]) from `token_attributions`.
    """
    value = contributions(attr)
    scale = float(np.abs(value).max()) or 1.0
    lines = attr.attrs.get("lines")
    totals = (lines["words"] + lines["number channels"]).to_numpy() if lines is not None else []
    spans, current = [], None
    for i, tok in enumerate(attr["token"]):
        if tok in ("[CLS]", "[SEP]", "[PAD]", "<s>", "</s>"):
            continue
        line = int(attr["line"].iloc[i]) if "line" in attr else -1
        if line >= 0 and line != current:
            current = line
            total = float(totals[line])
            spans.append(
                ("<br>" if spans else "")
                + f'<span style="background: {sign_colour(total, abs(total) or 1.0)}; '
                f'color: white; padding: 0 0.3em; border-radius: 3px">{total:+.3f}</span>'
            )
        text = html.escape(tok[2:] if tok.startswith("##") else tok)
        sep = "" if tok.startswith("##") else " "
        colour = sign_colour(float(value.iloc[i]), scale)
        spans.append(f'{sep}<span style="background: {colour}">{text}</span>')
    return '<div style="line-height: 1.9; font-family: monospace">' + "".join(spans) + "</div>"


def occlusion_claims(
    occlusion: np.ndarray, whole: float, risk: float, blocks: tuple[int, int, int] | None = None
) -> Claims:
    """What an occlusion map says about one patient, against the patient's own yardsticks
    instead of a fixed cut-off: the predicted risk, the risk the strongest block added, and the
    risk the whole CT added (the change when all of it is set to its mean: one block). Signs
    follow the map's: positive added risk, red in the figure.

    Used by notebook 13 (interpretation).

    Args:
        occlusion: the (D, H, W) map of `occlusion.ct_occlusion` (change of P, signed).
        whole: the risk the whole volume added (`ct_occlusion` with one block).
        risk: the patient's predicted P(label=1) with the CT intact.
        blocks: the grid `ct_occlusion` cut the volume into (the map repeats each block's value
            over its voxels); None: every voxel counts as a block.
    """
    grid = np.asarray(occlusion, dtype=float)
    if blocks is not None:  # one value per block: the first voxel of each
        starts = [
            np.linspace(0, s, b + 1).round().astype(int)[:-1] for s, b in zip(grid.shape, blocks)
        ]
        grid = grid[np.ix_(*starts)]
    flat = grid.ravel()
    peak = float(flat[np.abs(flat).argmax()])
    n_up, n_down = int((flat > 0).sum()), int((flat < 0).sum())
    table = pd.DataFrame(
        {
            "percentage points": [
                f"{100 * risk:.2f}",
                f"{100 * peak:+.2f}",
                f"{100 * whole:+.2f}",
            ]
        },
        index=["predicted risk (%)", "added by the strongest block", "added by the whole CT"],
    )
    cells = table["percentage points"]
    share = abs(peak) / abs(whole) if whole else float("nan")
    words = [
        f"This patient's predicted risk is {cells.iloc[0]} %. The block that matters most added "
        f"{cells.iloc[1]} percentage points to it (hiding it takes them away); the whole CT, "
        f"hidden at once, added {cells.iloc[2]}."
    ]
    if whole and np.isfinite(share):
        words.append(
            f"The strongest block alone does {share:.0%} of what the whole CT does; "
            f"{n_up} of {flat.size} blocks raised the risk and {n_down} lowered it."
        )
    caption = f"{flat.size} blocks: {n_up} raised the risk, {n_down} lowered it"
    if whole and np.isfinite(share):
        caption += f"; the strongest did {share:.0%} of the whole CT's change"
    return Claims(table, words, caption=caption)
