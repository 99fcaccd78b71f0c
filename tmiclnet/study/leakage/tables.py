"""The study's tables: pooled test AUCs with paired bootstrap intervals, the audit, the prose.

Everything here reads the saved test predictions and the audit (`training.LeakageStudy`); it is
in no key, so a table's layout or wording changes without retraining anything.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from tmiclnet.study.leakage.protocols import OURS, labels_tag
from tmiclnet.study.leakage.training import LeakageStudy


def _test_scores(preds: pd.DataFrame) -> pd.DataFrame:
    """Each patient's out-of-fold test prediction (every patient is tested once), by id."""
    test = preds[preds["split"] == "test"][["id", "label", "prob", "fold"]]
    return test.set_index("id").sort_index()


def _rank_auc(label: np.ndarray, score: np.ndarray) -> np.ndarray:
    """AUC per row of (B, n) resampled labels and scores (Mann-Whitney, ties averaged)."""
    ranks = rankdata(score, axis=1)
    n1 = label.sum(axis=1)
    n0 = label.shape[1] - n1
    return ((ranks * label).sum(axis=1) - n1 * (n1 + 1) / 2) / (n1 * n0)


def bootstrap_aucs(
    scores: dict[str, pd.DataFrame], reference: str, n_boot: int = 2000, seed: int = 0
) -> pd.DataFrame:
    """Pooled out-of-fold AUC of each protocol and its difference from `reference`, with 95 %
    percentile intervals from one bootstrap over patients shared by all protocols (paired).

    Pooled rather than mean over folds: the protocols split the patients into different folds,
    but each tests every patient exactly once, so patients pair them. Resampling is stratified
    by label, so every replicate has both classes.

    Args:
        scores: protocol -> `_test_scores` frame (index id; label, prob).
        reference: the protocol differences are taken from (ours).
        n_boot: bootstrap replicates.
        seed: the resampling's seed.
    """
    ids = scores[reference].index
    label = scores[reference]["label"].to_numpy(int)
    for name, s in scores.items():
        if not s.index.equals(ids) or not (s["label"].to_numpy(int) == label).all():
            raise ValueError(f"protocol {name!r} was not tested on the same patients and labels")
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(label == 1), np.flatnonzero(label == 0)
    rows = np.concatenate(
        [rng.choice(pos, (n_boot, len(pos))), rng.choice(neg, (n_boot, len(neg)))], axis=1
    )
    y = label[rows]
    boot = {n: _rank_auc(y, s["prob"].to_numpy()[rows]) for n, s in scores.items()}
    point = {n: _rank_auc(label[None], s["prob"].to_numpy()[None])[0] for n, s in scores.items()}
    out = []
    for n in scores:
        diff = boot[n] - boot[reference]
        out.append(
            {
                "protocol": n,
                "auc": point[n],
                "auc_lo": np.quantile(boot[n], 0.025),
                "auc_hi": np.quantile(boot[n], 0.975),
                "inflation": point[n] - point[reference],
                "inflation_lo": np.quantile(diff, 0.025),
                "inflation_hi": np.quantile(diff, 0.975),
            }
        )
    return pd.DataFrame(out)


def _fold_aucs(preds: pd.DataFrame) -> pd.Series:
    from tmiclnet.train.trainer import auc

    test = preds[preds["split"] == "test"]
    return test.groupby("fold").apply(lambda d: auc(d["label"], d["prob"]), include_groups=False)


def leakage_table(study: LeakageStudy, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """One row per (model, protocol): pooled test AUC with its interval, its inflation over
    ours with a paired interval, the mean +/- sd of the fold AUCs, and what leaked (the test
    patients the scaler was fitted on and the stopping criterion read, over all folds).

    Args:
        study: from `run_study`.
        n_boot: bootstrap replicates.
        seed: the bootstrap's seed.
    """
    protocols = list(dict.fromkeys(p for p, _ in study.predictions))
    models = list(dict.fromkeys(m for _, m in study.predictions))
    leaked = study.audit.groupby("protocol")[["n_test", "scaler_saw_test", "stopping_read_test"]]
    leaked = leaked.sum()
    frames = []
    for m in models:
        scores = {p: _test_scores(study.predictions[(p, m)]) for p in protocols}
        t = bootstrap_aucs(scores, OURS.name, n_boot, seed)
        folds = {p: _fold_aucs(study.predictions[(p, m)]) for p in protocols}
        t["fold_auc_mean"] = [folds[p].mean() for p in protocols]
        t["fold_auc_sd"] = [folds[p].std(ddof=1) for p in protocols]
        t.insert(0, "model", m)
        frames.append(t)
    table = pd.concat(frames, ignore_index=True).join(leaked, on="protocol")
    table["labels"] = labels_tag(study.permute_seed)
    return table


# the columns of `format_table`'s two halves, each narrow enough for the page at 1280 px
AUC_COLUMNS = ("AUC [95% CI]", "Δ vs ours [95% CI]")
AUDIT_COLUMNS = ("fold AUC", "scaler saw", "stopping read")


def format_table(table: pd.DataFrame, digits: int = 3, part: str = "all") -> pd.DataFrame:
    """The table as text, per (model, protocol): `AUC [lo, hi]` of the pooled test predictions,
    its inflation over ours `Δ vs ours [lo, hi]`, the fold AUCs' mean ± sd, and the audit: how
    many test rows the scaler was fitted on (`scaler saw`) and the stopping rule read
    (`stopping read`).

    Args:
        table: from `leakage_table`.
        digits: decimals shown.
        part: "all" (the command line), "auc" (the AUC and its inflation) or "audit" (the fold
            AUCs and the test rows each step saw): a page shows the halves one under the other.
    """
    if part not in ("all", "auc", "audit"):
        raise ValueError(f"part must be 'all', 'auc' or 'audit', not {part!r}")

    def interval(v, lo, hi, sign=""):
        return f"{v:{sign}.{digits}f} [{lo:{sign}.{digits}f}, {hi:{sign}.{digits}f}]"

    out = pd.DataFrame(
        {
            "model": table["model"],
            "protocol": table["protocol"],
            AUC_COLUMNS[0]: [
                interval(*r) for r in table[["auc", "auc_lo", "auc_hi"]].itertuples(index=False)
            ],
            AUC_COLUMNS[1]: [
                interval(*r, sign="+")
                for r in table[["inflation", "inflation_lo", "inflation_hi"]].itertuples(
                    index=False
                )
            ],
            AUDIT_COLUMNS[0]: [
                f"{a:.{digits}f} ± {b:.{digits}f}"
                for a, b in zip(table["fold_auc_mean"], table["fold_auc_sd"])
            ],
            AUDIT_COLUMNS[1]: table["scaler_saw_test"].astype(int),
            AUDIT_COLUMNS[2]: table["stopping_read_test"].astype(int),
        }
    ).set_index(["model", "protocol"])
    keep = {"all": out.columns, "auc": list(AUC_COLUMNS), "audit": list(AUDIT_COLUMNS)}[part]
    return out[keep]


def _verdict(lo: float, hi: float) -> str:
    if lo > 0:
        return "above ours (the interval excludes 0)"
    if hi < 0:
        return "below ours (the interval excludes 0)"
    return "not distinguishable from ours at this cohort size (the interval holds 0)"


def _inflation_sentence(protocol: str, r: pd.Series) -> str:
    lo, hi = r["inflation_lo"], r["inflation_hi"]
    return f"*{protocol}*: {r['inflation']:+.3f} [{lo:+.3f}, {hi:+.3f}], {_verdict(lo, hi)}."


def takeaways(real: pd.DataFrame | None, permuted: pd.DataFrame | None) -> str:
    """Markdown sentences read off the tables: each leak's inflation over ours on the real
    labels, and how far each protocol lands from 0.5 on permuted labels, with intervals.

    Args:
        real: `leakage_table` on the real labels, or None.
        permuted: `leakage_table` on permuted labels, or None.
    """
    lines = []
    for table, kind in ((real, "real"), (permuted, "permuted")):
        if table is None:
            continue
        for m, t in table.groupby("model", sort=False):
            t = t.set_index("protocol")
            o = t.loc[OURS.name]
            if kind == "real":
                lines.append(
                    f"- **{m}, real labels**: our protocol reaches AUC {o['auc']:.3f} "
                    f"[{o['auc_lo']:.3f}, {o['auc_hi']:.3f}]. "
                    + " ".join(
                        _inflation_sentence(p, r) for p, r in t.drop(index=OURS.name).iterrows()
                    )
                )
            else:
                lines.append(
                    f"- **{m}, labels permuted ({t['labels'].iloc[0]})**: no signal is left, "
                    "so 0.5 is the honest answer. "
                    + " ".join(
                        f"*{p}* lands at {r['auc']:.3f}, {r['auc'] - 0.5:+.3f} from 0.5 "
                        f"[{r['auc_lo'] - 0.5:+.3f}, {r['auc_hi'] - 0.5:+.3f}]"
                        + (" (its interval excludes 0.5)." if r["auc_lo"] > 0.5 else ".")
                        for p, r in t.iterrows()
                    )
                )
    return "\n".join(lines)
