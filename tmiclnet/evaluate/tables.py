"""The book's tables: every model compared, the ablations, and AUC differences with bootstrap CIs.

Rows are models as they appear in the results folder, each with what it sees (a network: its
modalities; a classical reference: `tmiclnet.evaluate.references.REFERENCE_LABELS`, since some see
more than the networks or were fitted on the test patients); the paper's three reported numbers
are added as a separate, clearly labelled row because they come from another (private, n=184)
cohort.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tmiclnet.evaluate import metrics
from tmiclnet.evaluate.references import REFERENCE_LABELS

MAIN_MODEL = "tmiclnet_tokens"
# (results name, what the row means); the first is the full model every ablation is compared to.
ABLATIONS = (
    ("tmiclnet_tokens", "full model (token variant)"),
    ("no_ima", "without IMA (intra-modal aggregation)"),
    ("no_tcaf", "without TCAF (concatenation instead)"),
    ("no_tmff", "without TMFF (cross-entropy only, w2 = 0)"),
    ("tmiclnet_released", "released architecture (one-token IMA, scalar TCAF)"),
)
SEES = "sees"  # the column naming what each row's model sees


def sees(model: str) -> str:
    """What a model sees: a reference's label, a catalogue network's modalities, else ''."""
    if model in REFERENCE_LABELS:
        return REFERENCE_LABELS[model]
    from tmiclnet.models.catalogue import ENTRIES

    entry = next((e for e in ENTRIES if e.name == model), None)
    return "network: " + " + ".join(entry.modalities) if entry else ""


def comparison(preds_by_model: dict[str, pd.DataFrame], with_paper: bool = True) -> pd.DataFrame:
    """Models x metrics ('mean ± sd' over folds), best AUC first, plus the paper's row."""
    table = metrics.comparison_table(preds_by_model)
    if with_paper:
        table = pd.concat([table, metrics.paper_row().to_frame().T])
    table.index.name = "model"
    table[SEES] = [sees(m) if m in preds_by_model else "another cohort" for m in table.index]
    return table


def auc_differences(
    preds_by_model: dict[str, pd.DataFrame],
    reference: str = MAIN_MODEL,
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """AUC(reference) - AUC(other) with a 95 % paired bootstrap CI, for every other model."""
    if reference not in preds_by_model:
        raise KeyError(f"no saved results for {reference!r}; have {sorted(preds_by_model)}")
    diff = metrics.auc_difference_table(preds_by_model, reference, n_boot, seed)
    if diff.empty:
        return pd.DataFrame(columns=["AUC difference", "95% CI", "bootstrap p", "patients", SEES])
    skipped = diff.attrs.get("skipped", [])
    diff = diff.sort_values("diff")  # numerically: models that beat the reference first
    out = pd.DataFrame(
        {
            "AUC difference": diff["diff"].map("{:+.3f}".format),
            "95% CI": [f"[{lo:+.3f}, {hi:+.3f}]" for lo, hi in zip(diff["lo"], diff["hi"])],
            "bootstrap p": diff["p_boot"].map("{:.3f}".format),
            "patients": diff["n_patients"],
            SEES: [sees(m) for m in diff.index],
        },
        index=diff.index,
    )
    out.attrs["skipped"] = skipped
    return out


def ablation(
    preds_by_model: dict[str, pd.DataFrame], n_boot: int = 2000, seed: int = 0
) -> pd.DataFrame:
    """The full model and each ablation present in the results: metrics and AUC change vs full."""
    full = preds_by_model.get(MAIN_MODEL)
    present = [
        (name, what)
        for name, what in ABLATIONS
        if name in preds_by_model and (full is None or _same_patients(preds_by_model[name], full))
    ]
    if not present or present[0][0] != MAIN_MODEL:
        raise KeyError(f"ablation table needs {MAIN_MODEL!r}; have {sorted(preds_by_model)}")
    subset = {name: preds_by_model[name] for name, _ in present}
    table = metrics.comparison_table(subset).loc[[name for name, _ in present]]
    table.insert(0, "variant", [what for _, what in present])
    delta = ["—"]
    for name, _ in present[1:]:
        ci = metrics.bootstrap_auc_diff(subset[name], subset[MAIN_MODEL], n_boot, seed)
        delta.append(f"{ci['diff']:+.3f} [{ci['lo']:+.3f}, {ci['hi']:+.3f}]")
    table["AUC change vs full (95% CI)"] = delta
    return table


def _same_patients(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    ids = lambda p: set(p.loc[p["split"] == "test", "id"])  # noqa: E731
    return ids(a) == ids(b)


def oracle_line(
    preds_by_model: dict[str, pd.DataFrame], oracle_auc: float | None, model: str = MAIN_MODEL
) -> pd.Series | None:
    """Synthetic cohort: the model's mean fold AUC against the Bayes (oracle) AUC, and the ratio."""
    if oracle_auc is None or model not in preds_by_model:
        return None
    auc = metrics.summarize(metrics.fold_metrics(preds_by_model[model])).loc["auc", "mean"]
    return pd.Series(
        {
            "model AUC": round(float(auc), 3),
            "oracle AUC": round(float(oracle_auc), 3),
            "fraction of oracle": round(float(auc / oracle_auc), 3),
            "target": ">= 0.95",
            "met": bool(np.isfinite(auc) and auc >= 0.95 * oracle_auc),
        },
        name=model,
    )


def reference_table(names: list[str]) -> pd.DataFrame:
    """One row per classical reference: what it sees, what it is fitted on, its threshold."""
    from tmiclnet.evaluate import references

    return pd.DataFrame(
        {
            SEES: [REFERENCE_LABELS[m] for m in names],
            "fitted on": references.FITTED_ON,
            "threshold": references.THRESHOLD_ON,
        },
        index=pd.Index(names, name="reference"),
    )


def bootstrap_auc(
    label: np.ndarray, prob: np.ndarray, n_boot: int = 2000, seed: int = 0, level: float = 0.95
) -> dict[str, float]:
    """AUC with a percentile bootstrap CI, patients resampled within each label (both kept)."""
    y, p = np.asarray(label, int), np.asarray(prob, float)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    if not len(pos) or not len(neg):
        return {"auc": float("nan"), "lo": float("nan"), "hi": float("nan")}
    rng = np.random.default_rng(seed)
    ip = rng.choice(pos, size=(n_boot, len(pos)), replace=True)
    ineg = rng.choice(neg, size=(n_boot, len(neg)), replace=True)
    reps = metrics._rank_auc(p[ip], p[ineg])
    lo, hi = np.quantile(reps, [(1 - level) / 2, 1 - (1 - level) / 2])
    auc = metrics._rank_auc(p[pos][None], p[neg][None])[0]
    return {"auc": float(auc), "lo": float(lo), "hi": float(hi)}


def subset_auc(
    preds_by_model: dict[str, pd.DataFrame],
    groups: dict[str, set],
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Each model's AUC on groups of patients (pooled test predictions) with a bootstrap CI.

    Pooled, not a mean over folds: a group such as the non-trial patients holds a handful of
    patients per fold, too few for a fold's AUC.

    Args:
        preds_by_model: model name -> its predictions, as `load_predictions` returns them.
        groups: group name -> the ids of its patients.
        n_boot: bootstrap resamples for the interval.
        seed: the bootstrap's seed.
    """
    rows = []
    for model, preds in preds_by_model.items():
        test = preds[preds["split"] == "test"]
        for group, ids in groups.items():
            part = test[test["id"].isin(ids)]
            ci = bootstrap_auc(part["label"], part["prob"], n_boot, seed)
            rows.append(
                {
                    "model": model,
                    "patients": group,
                    "n": len(part),
                    "events": int(part["label"].sum()),
                    **{k: round(v, 3) for k, v in ci.items()},
                    SEES: sees(model),
                }
            )
    return pd.DataFrame(rows).set_index(["model", "patients"])
