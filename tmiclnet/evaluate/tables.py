"""The book's tables: every model compared, the ablations, and AUC differences with bootstrap CIs.

Rows are models as they appear in the results folder; the paper's three reported numbers are added
as a separate, clearly labelled row because they come from another (private, n=184) cohort.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tmiclnet.evaluate import metrics

MAIN_MODEL = "tmiclnet_tokens"
# (results name, what the row means); the first is the full model every ablation is compared to.
ABLATIONS = (
    ("tmiclnet_tokens", "full model (token variant)"),
    ("no_ima", "without IMA (intra-modal aggregation)"),
    ("no_tcaf", "without TCAF (concatenation instead)"),
    ("no_tmff", "without TMFF (cross-entropy only, w2 = 0)"),
    ("tmiclnet_released", "released architecture (one-token IMA, scalar TCAF)"),
)


def comparison(preds_by_model: dict[str, pd.DataFrame], with_paper: bool = True) -> pd.DataFrame:
    """Models x metrics ('mean ± sd' over folds), best AUC first, plus the paper's row."""
    table = metrics.comparison_table(preds_by_model)
    if with_paper:
        table = pd.concat([table, metrics.paper_row().to_frame().T])
    table.index.name = "model"
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
        return pd.DataFrame(columns=["AUC difference", "95% CI", "bootstrap p", "patients"])
    skipped = diff.attrs.get("skipped", [])
    diff = diff.sort_values("diff")  # numerically: models that beat the reference first
    out = pd.DataFrame(
        {
            "AUC difference": diff["diff"].map("{:+.3f}".format),
            "95% CI": [f"[{lo:+.3f}, {hi:+.3f}]" for lo, hi in zip(diff["lo"], diff["hi"])],
            "bootstrap p": diff["p_boot"].map("{:.3f}".format),
            "patients": diff["n_patients"],
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
