"""Figures and small summaries for the Radiomics page (the notebook only calls these)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tmiclnet.claims import Claims
from tmiclnet.radiomics.families import CLASSES, DESCRIPTIONS, feature_families, image_type_of


def families_table(columns) -> pd.DataFrame:
    """Features per class (rows) and image type (columns), with what each class measures.

    Used by notebook 02 (radiomics).

    Args:
        columns: radiomic feature columns, named as pyradiomics names them
            (``original_glcm_Contrast``).
    """
    fams = feature_families(columns)
    counts = pd.DataFrame(
        [(f.rpartition("_")[2], image_type_of(f), len(c)) for f, c in fams.items()],
        columns=["class", "image", "n"],
    )
    table = counts.pivot_table(
        index="class", columns="image", values="n", aggfunc="sum", sort=False
    ).reindex([c for c in CLASSES if c in set(counts["class"])])
    table = table.fillna(0).astype(int)
    table.insert(0, "measures", [DESCRIPTIONS[c] for c in table.index])
    return table


def spearman(table: pd.DataFrame) -> pd.DataFrame:
    """Spearman correlation between features (NaN for constant features)."""
    ranks = table.rank().to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.corrcoef(ranks, rowvar=False)
    return pd.DataFrame(corr, index=table.columns, columns=table.columns)


def redundancy(table: pd.DataFrame, threshold: float = 0.9) -> float:
    """Share of feature pairs with absolute Spearman rho above `threshold` (constants left out).

    Used by notebook 02 (radiomics).

    Args:
        table: radiomic features, one row per patient (index id), one column per feature.
        threshold: absolute Spearman rho, in [0, 1], above which a pair counts as redundant.
    """
    corr = spearman(table.loc[:, table.nunique() > 1]).to_numpy()
    upper = corr[np.triu_indices_from(corr, k=1)]
    return float(np.mean(np.abs(upper) > threshold)) if upper.size else float("nan")


def correlation_heatmap(table: pd.DataFrame, image: str = "original") -> plt.Figure:
    """Absolute Spearman rho between the features of one image type, grouped by class.

    Used by notebook 02 (radiomics).

    Args:
        table: radiomic features, one row per patient (index id), one column per feature.
        image: the image type whose features are drawn, e.g. ``original`` or ``wavelet-LLH``.
    """
    cols = [c for c in table.columns if image_type_of(c.rpartition("_")[0]) == image]
    cols = [c for c in cols if table[c].nunique() > 1]
    corr = spearman(table[cols]).abs()
    fams = feature_families(cols)
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    im = ax.imshow(corr.to_numpy(), vmin=0, vmax=1, cmap="viridis", interpolation="nearest")
    edges = np.cumsum([0] + [len(v) for v in fams.values()])
    for e in edges[1:-1]:
        ax.axhline(e - 0.5, color="white", lw=0.8)
        ax.axvline(e - 0.5, color="white", lw=0.8)
    centres = (edges[:-1] + edges[1:]) / 2 - 0.5
    names = [f.rpartition("_")[2] for f in fams]
    ax.set_xticks(centres, names, rotation=45, ha="right")
    ax.set_yticks(centres, names)
    ax.set_title(f"|Spearman correlation| between the {len(cols)} {image} features")
    fig.colorbar(im, ax=ax, shrink=0.8, label="|rho|")
    fig.tight_layout()
    return fig


def stability_by_class(icc: pd.DataFrame, good: float = 0.75) -> pd.DataFrame:
    """Share of features per class with ICC >= `good`, for each perturbation.

    Used by notebook 02 (radiomics).

    Args:
        icc: ICC per feature and perturbation (`tmiclnet.radiomics.stability.stability`).
        good: the ICC at or above which a feature counts as stable.
    """
    classes = [f.rpartition("_")[0].rpartition("_")[2] for f in icc.index]
    ok = (icc >= good).groupby(classes, sort=False).mean()
    return ok.reindex([c for c in CLASSES if c in ok.index]).round(2)


def stability_figure(icc: pd.DataFrame) -> plt.Figure:
    """Distribution of ICC per perturbation and feature class.

    Used by notebook 02 (radiomics).

    Args:
        icc: ICC per feature and perturbation (`tmiclnet.radiomics.stability.stability`).
    """
    classes = [f.rpartition("_")[0].rpartition("_")[2] for f in icc.index]
    present = [c for c in CLASSES if c in set(classes)]
    kinds = [k for k in icc.columns if k != "all"]
    fig, axes = plt.subplots(1, len(kinds), figsize=(7.5, 3.8), sharey=True)
    for ax, kind in zip(np.atleast_1d(axes), kinds):
        data = [icc[kind][[c == cls for c in classes]].dropna().clip(-0.5, 1) for cls in present]
        ax.boxplot(data, tick_labels=present, showfliers=False)
        ax.axhline(0.75, color="tab:red", ls="--", lw=1)
        ax.set_title(kind)
        ax.tick_params(axis="x", rotation=60)
    np.atleast_1d(axes)[0].set_ylabel("ICC(2,1) vs original")
    fig.suptitle("Feature stability: one-voxel mask changes, added noise")
    fig.tight_layout()
    return fig


def auc_figure(per_feature: pd.DataFrame, n: int = 15) -> plt.Figure:
    """AUC of the features most often ranked top inside the folds: on the training rows that
    ranked them, and on the held-out rows of the same folds.

    Used by notebook 02 (radiomics).

    Args:
        per_feature: the per-feature table of `tmiclnet.radiomics.univariate.foldwise_auc`.
        n: how many features to show, most often selected first.
    """
    top = per_feature[per_feature["selected"] > 0].head(n).iloc[::-1]
    fig, ax = plt.subplots(figsize=(7.5, 0.3 * len(top) + 1.4))
    y = np.arange(len(top))
    ax.barh(y + 0.2, top["selected_train_auc"], height=0.4, label="training rows (ranked on)")
    ax.barh(y - 0.2, top["selected_test_auc"], height=0.4, label="held-out rows, same folds")
    ax.axvline(0.5, color="grey", lw=1)
    labels = [
        f"{c if len(c) < 48 else c[:45] + '...'} ({k}x)" for c, k in zip(top.index, top["selected"])
    ]
    ax.set_yticks(y, labels, fontsize=10)
    ax.set_xlim(0.2, 1.0)
    ax.set_xlabel("AUC (direction fixed on training rows)")
    ax.set_title("Top-ranked features: training vs held-out AUC")
    fig.legend(loc="lower center", ncol=2, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def redundancy_reading(table: pd.DataFrame, threshold: float = 0.9) -> str:
    """One markdown sentence on how redundant the features are, from the numbers (so the page's
    prose cannot overstate it): all pairs, and pairs within one feature class against pairs of
    different classes.

    Used by notebook 02 (radiomics).

    Args:
        table: radiomic features, one row per patient (index id), one column per feature.
        threshold: absolute Spearman rho above which a pair counts as a near-duplicate.
    """
    cols = [c for c in table.columns if table[c].nunique() > 1]
    corr = np.abs(spearman(table[cols]).to_numpy())
    classes = np.array([c.rpartition("_")[0].rpartition("_")[2] for c in cols])
    upper = np.triu(np.ones_like(corr, dtype=bool), k=1)
    same = (classes[:, None] == classes[None, :]) & upper
    other = upper & ~same
    share = {
        k: 100 * float(np.mean(corr[m] > threshold))
        for k, m in (("all", upper), ("same", same), ("other", other))
    }
    amount = (
        "a small minority"
        if share["all"] < 10
        else "a sizeable share"
        if share["all"] < 30
        else "most"
    )
    return (
        f"Near-duplicates are **{amount}** of the {int(upper.sum())} pairs: "
        f"{share['all']:.1f} % have |rho| > {threshold}. They concentrate inside a class "
        f"({share['same']:.1f} % of the pairs of the same class, {share['other']:.1f} % of pairs "
        "from different classes): the bright blocks on the diagonal."
    )


def stability_reading(icc: pd.DataFrame, good: float = 0.75, tie: float = 0.05) -> str:
    """One markdown sentence naming the perturbation(s) that leave the fewest features stable,
    from the ICC table (perturbations within `tie` of the harshest are named with it).

    Used by notebook 02 (radiomics).

    Args:
        icc: ICC per feature and perturbation (`tmiclnet.radiomics.stability.stability`).
        good: the ICC at or above which a feature counts as stable.
        tie: shares of stable features closer than this count as equally harsh.
    """
    kinds = [k for k in icc.columns if k != "all"]
    stable = {k: float((icc[k].dropna() >= good).mean()) for k in kinds}
    worst = min(stable.values())
    harsh = [k for k in kinds if stable[k] - worst <= tie]
    listed = ", ".join(f"{k} {100 * v:.0f} %" for k, v in stable.items())
    verb = "is the harshest perturbation" if len(harsh) == 1 else "are about equally harsh"
    return (
        f"Share of all features with ICC >= {good}: {listed}. "
        f"**{' and '.join(harsh)}** {verb} here."
    )


KNOWN_WARNINGS = {
    "load_module()": (
        "a `DeprecationWarning` raised while pyradiomics validates its parameter file: its "
        "validator, pykwalify, loads pyradiomics' schema extension with Python's deprecated "
        "`SourceFileLoader.load_module()`. It says nothing about the features and is harmless "
        "on this Python; it is listed rather than hidden because the extractor records every "
        "warning."
    ),
    "Sum Average = 2 * Joint Average": (
        "pyradiomics pointing out that GLCM *Sum Average* is exactly twice *Joint Average* for a "
        "symmetrical co-occurrence matrix: a redundant feature that it still returns."
    ),
}


def warnings_reading(warnings: pd.DataFrame) -> str:
    """A markdown list explaining each row of the extraction's warnings table (or saying there
    were none), so no row is left unexplained.

    Used by notebook 02 (radiomics).

    Args:
        warnings: the `warnings` table of `tmiclnet.radiomics.extract.extract`.
    """
    if warnings.empty:
        return "pyradiomics raised no warning on this cohort."
    lines = []
    for _, row in warnings.iterrows():
        why = next((v for k, v in KNOWN_WARNINGS.items() if k in str(row["message"])), None)
        why = why or "not one this page knows: read its message in the table."
        lines.append(
            f"- `{row['source']}` ({row['count']} times, {row['cases']} cases), "
            f'*"{row["message"]}"*: {why}'
        )
    return "The warnings table, row by row:\n\n" + "\n".join(lines)


def stability_claims(icc: pd.DataFrame, good: float = 0.75) -> Claims:
    """The share of stable features per class and perturbation, with sentences read off that
    table: per perturbation the most and the least stable class, and the harshest perturbation
    over all features. The page's prose about which class is stable comes from here.

    Used by notebook 02 (radiomics).

    Args:
        icc: ICC per feature and perturbation (`tmiclnet.radiomics.stability.stability`).
        good: the ICC at or above which a feature counts as stable.
    """
    by_class = stability_by_class(icc, good)
    kinds = [k for k in by_class.columns if k != "all"]
    overall = {k: float((icc[k].dropna() >= good).mean()) for k in kinds}
    table = by_class[kinds].copy()
    table.loc["all features"] = pd.Series(overall)
    table = table.map(lambda v: f"{v:.2f}")
    words = []
    for k in kinds:
        col = by_class[k]
        best, worst = col.idxmax(), col.idxmin()
        words.append(
            f"After {k}, {best} keeps the largest share of stable features "
            f"({table.loc[best, k]}) and {worst} the smallest ({table.loc[worst, k]})."
        )
    harsh = min(overall, key=overall.get)
    words.append(
        f"Over all features, {harsh} is the harshest perturbation "
        f"({table.loc['all features', harsh]} stable)."
    )
    return Claims(table, words, caption=f"share of features with ICC(2,1) >= {good}")


def optimism_claims(per_fold: pd.DataFrame, n_features: int) -> Claims:
    """The univariate ranking per fold (the top feature's AUC on the training rows that chose
    it and on the held-out rows), with the sentence stating the mean optimism from the same
    table; the sentence says so when there is none, instead of asserting that there is.

    Used by notebook 02 (radiomics).

    Args:
        per_fold: `univariate.foldwise_auc(...).per_fold`.
        n_features: how many features were ranked.
    """
    cut = lambda s: s if len(s) <= 28 else s[:25] + "..."  # noqa: E731
    short = {"train_auc": "train AUC", "test_auc": "held-out AUC", "top_mean_test_auc": "top-10"}
    table = per_fold.rename(columns=short).assign(feature=lambda t: t.feature.map(cut))
    train, test = per_fold["train_auc"].mean(), per_fold["test_auc"].mean()
    gap = f"{train - test:.2f}"
    table.loc["mean", ["train AUC", "held-out AUC"]] = [train, test]
    table = table.map(lambda v: "" if pd.isna(v) else f"{v:.3f}" if isinstance(v, float) else v)
    said = (
        f"**{gap} of AUC is the optimism** of choosing a feature on the data that evaluate it."
        if train > test
        else f"Here the held-out rows score no lower ({gap}): no optimism shows on these folds."
    )
    words = [
        f"The {n_features} features were ranked in each of {len(per_fold)} folds. The feature "
        f"ranked first has a mean AUC of {table.loc['mean', 'train AUC']} on the training rows "
        f"that chose it and {table.loc['mean', 'held-out AUC']} on the held-out rows.",
        said,
    ]
    caption = f"{n_features} features, {len(per_fold)} folds; the mean's difference: {gap}"
    return Claims(table, words, caption=caption)
