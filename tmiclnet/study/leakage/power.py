"""The replicated study's tables: each protocol's inflation over ours, with an interval across
replicates, for the AUC, the accuracy and the F1; and the prose read off them.

Per replicate and protocol the primary figure is the **within-fold mean AUC**: the AUC of each
fold's test patients, scored by the one model that fold trained, averaged over folds. The pooled
AUC (every patient's out-of-fold prediction ranked together) is secondary: it ranks patients of
one fold against patients of another, scored by different models whose outputs sit at different
levels (each learns its own training part's base rate and scale), so it measures calibration
between folds as well as ranking. Under a null with unstratified folds this alone moves it: a
fold with fewer events trained on more of them predicts higher for all its test patients, who are
mostly non-events. Accuracy and F1 are fold means at each fold's threshold, which ours chooses
on validation and a protocol that stops on the test fold chooses on the test fold: a test-chosen
threshold flatters exactly the metrics the paper reports beside its AUC.

Intervals, 95 %, of the mean inflation (protocol minus ours, replicate by replicate):

- permuted labels: each labelling is an independent draw of a cohort with no signal, so the
  interval is the t interval across labellings (`corrected_t_interval` with no correction);
- real labels: the repeats reuse the same patients, so the interval is the corrected resampled t
  of the book's repeated cross-validation over the R x K fold differences, with ours' ratio of
  test to fitted patients (`tmiclnet.evaluate.repeats`). The pooled AUC has one value per repeat,
  so its interval on real labels is the t across repeats: the variation of folds and training,
  not of patients (marked in the table).

Everything here reads `replicates.Replicates` only and is in no key.
"""

from __future__ import annotations

import pandas as pd

from tmiclnet.evaluate.metrics import binary_metrics
from tmiclnet.evaluate.repeats import corrected_t_interval
from tmiclnet.study.leakage.protocols import OURS
from tmiclnet.study.leakage.replicates import Replicates

METRICS = ("auc", "pooled_auc", "accuracy", "f1")
NAMES = {
    "auc": "AUC (within-fold mean)",
    "pooled_auc": "AUC (pooled)",
    "accuracy": "accuracy",
    "f1": "F1",
}
UNITS = ["model", "kind", "replicate", "protocol"]


def fold_scores(preds: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, kind, replicate, protocol, fold): the fold's test AUC, accuracy and
    F1 at its own threshold.

    Args:
        preds: `Replicates.predictions`.
    """
    rows = []
    for key, g in preds.groupby([*UNITS, "fold"], sort=False):
        m = binary_metrics(g["label"].to_numpy(), g["prob"].to_numpy(), g["threshold"].iloc[0])
        rows.append(
            {**dict(zip([*UNITS, "fold"], key)), **{k: m[k] for k in ("auc", "accuracy", "f1")}}
        )
    return pd.DataFrame(rows)


def _pooled(preds: pd.DataFrame) -> pd.Series:
    from sklearn.metrics import roc_auc_score

    return preds.groupby(UNITS, sort=False).apply(
        lambda g: roc_auc_score(g["label"], g["prob"]), include_groups=False
    )


def replicate_scores(preds: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, kind, replicate, protocol): the fold means of `fold_scores` and the
    pooled AUC.

    Args:
        preds: `Replicates.predictions`.
    """
    folds = fold_scores(preds)
    out = folds.groupby(UNITS, sort=False)[["auc", "accuracy", "f1"]].mean()
    out["pooled_auc"] = _pooled(preds)
    return out.reset_index()


def fit_ratio_of(preds: pd.DataFrame, audit: pd.DataFrame, val_fraction: float) -> float:
    """Ours' test over fitted patients in a fold: the fold's test patients over the training
    part without its validation share (0.3125 for 5 folds and 0.2).

    Args:
        preds: `Replicates.predictions` (unused rows are ignored).
        audit: `Replicates.audit`, whose n_test per fold is read.
        val_fraction: the profile's validation share.
    """
    n = int(preds.groupby(["model", "kind", "replicate", "protocol"]).size().iloc[0])
    test = audit.loc[audit["protocol"] == OURS.name, "n_test"].mean()
    return float(test / ((n - test) * (1 - val_fraction)))


def inflation_table(
    rep: Replicates, val_fraction: float = 0.2, reference: str = OURS.name
) -> pd.DataFrame:
    """One row per (model, kind, protocol, metric): the protocol's mean over replicates, the
    reference's mean (`ours`), the mean inflation over it with its 95 % interval and p (see the
    module's note), the interval's kind and the number of replicates.

    Args:
        rep: from `replicates.run_replicates`.
        val_fraction: the profile's validation share (the real labels' corrected interval).
        reference: the protocol differences are taken from: ours, or the fixed-epochs control
            to split `stop on test`'s inflation into the extra data and the leak.
    """
    per_rep = replicate_scores(rep.predictions)
    per_fold = fold_scores(rep.predictions)
    ratio = fit_ratio_of(rep.predictions, rep.audit, val_fraction)
    rows = []
    for (model, kind), g in per_rep.groupby(["model", "kind"], sort=False):
        wide = g.pivot_table(index="replicate", columns="protocol", values=list(METRICS))
        folds = per_fold[(per_fold["model"] == model) & (per_fold["kind"] == kind)]
        fwide = folds.pivot_table(
            index=["replicate", "fold"], columns="protocol", values=["auc", "accuracy", "f1"]
        )
        for protocol in dict.fromkeys(g["protocol"]):
            for metric in METRICS:
                if kind == "real" and metric != "pooled_auc":
                    d = fwide[(metric, protocol)] - fwide[(metric, reference)]
                    how = f"corrected t, {len(d)} folds"
                    mean, lo, hi, p = corrected_t_interval(d.dropna(), ratio)
                else:
                    d = wide[(metric, protocol)] - wide[(metric, reference)]
                    how = f"t across {len(d)} " + (
                        "labellings" if kind == "permuted" else "repeats"
                    )
                    mean, lo, hi, p = corrected_t_interval(d.dropna(), 0.0)
                if protocol == reference:
                    lo = hi = mean = 0.0
                    p = float("nan")
                rows.append(
                    {
                        "model": model,
                        "kind": kind,
                        "protocol": protocol,
                        "metric": metric,
                        "value": float(wide[(metric, protocol)].mean()),
                        "value_sd": float(wide[(metric, protocol)].std(ddof=1)),
                        "reference": float(wide[(metric, reference)].mean()),
                        "inflation": mean,
                        "lo": lo,
                        "hi": hi,
                        "p": p,
                        "interval": how,
                        "replicates": int(len(wide)),
                    }
                )
    return pd.DataFrame(rows)


def ours_interval(
    rep: Replicates, kind: str = "permuted", metric: str = "auc"
) -> tuple[float, float, float]:
    """(mean, low, high) of ours' `metric` across the replicates of `kind`: a t interval (on
    permuted labels the honest answer is 0.5).

    Args:
        rep: from `replicates.run_replicates`.
        kind: "real" or "permuted".
        metric: one of `METRICS`.
    """
    s = replicate_scores(rep.predictions)
    v = s.loc[(s["kind"] == kind) & (s["protocol"] == OURS.name), metric].to_numpy(float)
    mean, lo, hi, _ = corrected_t_interval(v, 0.0)
    return mean, lo, hi


# the metrics in `format_table`'s rows, short enough for the page at 1280 px
SHORT_NAMES = {"auc": "AUC", "pooled_auc": "pooled AUC", "accuracy": "accuracy", "f1": "F1"}


def format_table(table: pd.DataFrame, kind: str, digits: int = 3) -> pd.DataFrame:
    """The inflation table of one kind of labels as text: a row per (model, metric, protocol),
    the metrics as `SHORT_NAMES` (`AUC` is the within-fold mean), with the protocol's mean over
    the replicates (`mean`) and its inflation over ours with its 95 % interval
    (`Δ vs ours [95% CI]`, `+x.xxx [lo, hi]`; empty for ours).

    Args:
        table: from `inflation_table`.
        kind: "real" or "permuted".
        digits: decimals shown.
    """
    t = table[table["kind"] == kind]
    f = f".{digits}f"
    models = list(dict.fromkeys(t["model"]))
    rows = []
    for _, r in t.iterrows():
        delta = ""
        if r["protocol"] != OURS.name:
            delta = f"{r['inflation']:+{f}} [{r['lo']:+{f}}, {r['hi']:+{f}}]"
        rows.append(
            {
                "order": (models.index(r["model"]), METRICS.index(r["metric"])),
                "model": r["model"],
                "metric": SHORT_NAMES[r["metric"]],
                "protocol": r["protocol"],
                "mean": f"{r['value']:{f}}",
                "Δ vs ours [95% CI]": delta,
            }
        )
    out = pd.DataFrame(rows).sort_values("order", kind="stable").drop(columns="order")
    return out.set_index(["model", "metric", "protocol"])


def _verdict(lo: float, hi: float) -> str:
    if lo > 0:
        return "above ours"
    if hi < 0:
        return "below ours"
    return "not told apart from ours"


def takeaways(table: pd.DataFrame, ours_null: tuple[float, float, float] | None = None) -> str:
    """Markdown read off `inflation_table`: per kind of labels and protocol, the inflation of the
    within-fold AUC, the accuracy and the F1, each with its interval and verdict; and, on
    permuted labels, where ours lands against 0.5.

    Args:
        table: from `inflation_table`.
        ours_null: `ours_interval` on permuted labels, or None.
    """
    lines = []
    for (model, kind), g in table.groupby(["model", "kind"], sort=False):
        head = f"- **{model}, {'real' if kind == 'real' else 'permuted'} labels** "
        n, how = int(g["replicates"].iloc[0]), g.loc[g["metric"] == "auc", "interval"].iloc[0]
        head += f"({n} {'repeats' if kind == 'real' else 'labellings'}; AUC interval: {how}): "
        ours = g[(g["protocol"] == OURS.name) & (g["metric"] == "auc")].iloc[0]
        head += f"ours reaches a within-fold AUC of {ours['value']:.3f}."
        if kind == "permuted" and ours_null is not None:
            m, lo, hi = ours_null
            head += f" Across labellings its mean is {m:.3f} [{lo:.3f}, {hi:.3f}] against 0.5."
        parts = []
        for protocol, h in g[g["protocol"] != OURS.name].groupby("protocol", sort=False):
            h = h.set_index("metric")
            a = h.loc["auc"]
            bits = [
                f"{NAMES[m].split(' ')[0]} {h.loc[m, 'inflation']:+.3f} "
                f"[{h.loc[m, 'lo']:+.3f}, {h.loc[m, 'hi']:+.3f}]"
                for m in ("auc", "accuracy", "f1")
            ]
            verdict = _verdict(a["lo"], a["hi"])
            parts.append(f"*{protocol}*: " + ", ".join(bits) + f" (AUC {verdict}).")
        lines.append(head + " " + " ".join(parts))
    return "\n".join(lines)


def decomposition(rep: Replicates, kind: str, val_fraction: float = 0.2) -> pd.DataFrame:
    """How `stop on test`'s inflation of the within-fold AUC splits, each part with its interval:
    the extra training data (the fixed-epochs control over ours: 25 % more patients, no early
    stopping) and the leak (stop on test over the control: the same training, the epoch and the
    threshold chosen on the test fold). Rows: extra data, leak, total; columns: the inflation,
    its interval (`lo`, `hi`) and the interval's kind, for the first model of `rep` (the page's
    only one).

    Args:
        rep: from `replicates.run_replicates`.
        kind: "real" or "permuted".
        val_fraction: the profile's validation share.
    """
    parts = {
        "extra data": (inflation_table(rep, val_fraction), "fixed epochs"),
        "leak": (inflation_table(rep, val_fraction, reference="fixed epochs"), "stop on test"),
        "total": (inflation_table(rep, val_fraction), "stop on test"),
    }
    rows = {}
    for name, (t, protocol) in parts.items():
        r = t[(t["kind"] == kind) & (t["metric"] == "auc") & (t["protocol"] == protocol)].iloc[0]
        rows[name] = r[["inflation", "lo", "hi", "interval"]]
    return pd.DataFrame(rows).T
