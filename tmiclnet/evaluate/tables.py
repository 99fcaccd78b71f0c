"""The book's tables: every model compared, the ablations, and AUC differences with bootstrap CIs.

Rows are models as they appear in the results folder, each with what it sees (a network: its
modalities; a classical reference: its tag in `tmiclnet.evaluate.references.SEES_TAGS`, since some
see more than the networks or were fitted on the test patients, spelled out once by
`reference_list`); the paper's three reported numbers are added as a separate, clearly labelled
row because they come from another (private, n=184) cohort.

Every table is shaped to show its key columns whole in the book's column at 1280 px (the page
check in `tmiclnet.book.check` measures it): short headers and tags, the AUC with its spread, and
the thresholded metrics as fold means to two decimals, since they move between folds by far more
than a third decimal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tmiclnet.evaluate import metrics
from tmiclnet.evaluate.references import FITTED_ON, REFERENCE_LABELS, SEES_TAGS, THRESHOLD_ON

MAIN_MODEL = "tmiclnet_tokens"
# (results name, what the row means); the first is the full model every ablation is compared to.
ABLATIONS = (
    ("tmiclnet_tokens", "full (tokens)"),
    ("no_ima", "no IMA"),
    ("no_tcaf", "TCAF → concat"),
    ("no_tmff", "no TMFF (w2 = 0)"),
    ("tmiclnet_released", "released design"),
)
SEES = "sees"  # the column naming what each row's model sees
MODALITY_TAGS = {"ct": "CT", "radiomics": "rad", "text": "text"}
# Short headers of the comparison table: the AUC (mean ± sd) first, then the fold means, each
# with its decimals (the thresholded metrics to two, see the module's docstring).
SHORT_METRICS = {
    "auc": ("AUC", 3),
    "accuracy": ("acc", 2),
    "f1": ("F1", 2),
    "sensitivity": ("sens", 2),
    "specificity": ("spec", 2),
    "brier": ("Brier", 3),
}
PAPER_ROW = "TMI-CLNet (paper)"


def format_p(p: float) -> str:
    """A p-value as a page prints it: three decimals, or "< 0.001" (never "0.000", which reads as
    impossible: a bootstrap of B resamples cannot show p below about 1/B).

    Args:
        p: the p-value.
    """
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def sees(model: str) -> str:
    """What a model sees, as a short tag: a reference's (`SEES_TAGS`), a catalogue network's
    modalities ("CT+rad+text"), the paper's "other cohort", else ''."""
    if model in SEES_TAGS:
        return SEES_TAGS[model]
    if model == PAPER_ROW:
        return "other cohort"
    from tmiclnet.models.catalogue import ENTRIES

    entry = next((e for e in ENTRIES if e.name == model), None)
    return "+".join(MODALITY_TAGS.get(m, m) for m in entry.modalities) if entry else ""


def reference_list(names: list[str] | pd.DataFrame | None) -> str:
    """Markdown: each reference's tag and what it sees in full, then what all are fitted on.

    The full labels are too long for a table column; the tables carry the tag.

    Args:
        names: the references present, or `Report.references` (its index; None: no reference,
            and the list is empty).
    """
    if names is None:
        return ""
    if isinstance(names, pd.DataFrame):
        names = list(names.index)
    lines = [f"- `{m}` (*{SEES_TAGS[m]}*): {REFERENCE_LABELS[m]}." for m in names]
    fitted = f"All are fitted on {FITTED_ON}; their threshold is {THRESHOLD_ON}."
    return "\n".join([*lines, "", fitted])


def comparison(preds_by_model: dict[str, pd.DataFrame], with_paper: bool = True) -> pd.DataFrame:
    """Models x metrics, best AUC first, plus the paper's row: the AUC as 'mean ± sd' over folds,
    the thresholded metrics and the Brier score as fold means (`SHORT_METRICS` headers)."""
    rows = {
        m: _short_row(s["mean"], s["sd"])
        for m, s in metrics.ranked_summaries(preds_by_model).items()
    }
    if with_paper:
        rows[PAPER_ROW] = _short_row(metrics.PAPER)
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    table[SEES] = [sees(m) for m in table.index]
    return table


def _short_row(mean, sd=None) -> dict[str, str]:
    """One row of `comparison` under the `SHORT_METRICS` headers: the AUC with its sd when `sd` is
    given, every other metric as its mean; "n/r" for a metric `mean` lacks (the paper's row)."""
    row = {}
    for m, (header, digits) in SHORT_METRICS.items():
        if m not in mean:
            row[header] = "n/r"
            continue
        row[header] = f"{mean[m]:.{digits}f}"
        if m == "auc" and sd is not None:
            row[header] += f" ± {sd[m]:.{digits}f}"
    return row


DIFF_COLUMNS = ("Δ AUC", "95% CI", "p", "n")  # difference, its interval, bootstrap p, patients


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
        return pd.DataFrame(columns=list(DIFF_COLUMNS) + [SEES])
    skipped = diff.attrs.get("skipped", [])
    diff = diff.sort_values("diff")  # numerically: models that beat the reference first
    out = pd.DataFrame(
        {
            "Δ AUC": diff["diff"].map("{:+.3f}".format),
            "95% CI": [f"[{lo:+.3f}, {hi:+.3f}]" for lo, hi in zip(diff["lo"], diff["hi"])],
            "p": diff["p_boot"].map(format_p),
            "n": diff["n_patients"],
            SEES: [sees(m) for m in diff.index],
        },
        index=pd.Index(diff.index, name="model"),
    )
    out.attrs["skipped"] = skipped
    out.attrs["reads"] = f"Δ AUC = AUC({reference}) − AUC(model), paired bootstrap over n patients"
    return out


def ablation(
    preds_by_model: dict[str, pd.DataFrame], n_boot: int = 2000, seed: int = 0
) -> pd.DataFrame:
    """The full model and each ablation present in the results: what it changes, its AUC
    (mean ± sd over folds) and its AUC change vs the full model with a paired bootstrap CI."""
    full = preds_by_model.get(MAIN_MODEL)
    present = [
        (name, what)
        for name, what in ABLATIONS
        if name in preds_by_model and (full is None or _same_patients(preds_by_model[name], full))
    ]
    if not present or present[0][0] != MAIN_MODEL:
        raise KeyError(f"ablation table needs {MAIN_MODEL!r}; have {sorted(preds_by_model)}")
    subset = {name: preds_by_model[name] for name, _ in present}
    aucs = metrics.comparison_table(subset)["auc"]
    table = pd.DataFrame(
        {"variant": [what for _, what in present], "AUC": [aucs[n] for n, _ in present]},
        index=pd.Index([n for n, _ in present], name="model"),
    )
    delta = ["—"]
    for name, _ in present[1:]:
        ci = metrics.bootstrap_auc_diff(subset[name], subset[MAIN_MODEL], n_boot, seed)
        delta.append(f"{ci['diff']:+.3f} [{ci['lo']:+.3f}, {ci['hi']:+.3f}]")
    table["Δ AUC vs full [95% CI]"] = delta
    return table


def _same_patients(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    ids = lambda p: set(p.loc[p["split"] == "test", "id"])  # noqa: E731
    return ids(a) == ids(b)


def signal_share(auc: float, oracle: float) -> float:
    """The share of the signal above chance a model reaches: (AUC - 0.5) / (oracle - 0.5).

    AUC / oracle flatters every model (a coin's 0.5 scores 60 % of an oracle of 0.83); this is
    0 for chance and 1 at the ceiling.

    Args:
        auc: the model's AUC.
        oracle: the ceiling (Bayes AUC) of what the model sees; nan unless above 0.5.
    """
    return float((auc - 0.5) / (oracle - 0.5)) if oracle > 0.5 else float("nan")


SHARE_TARGET = 0.8  # TMI-CLNet should reach this share of the oracle's signal above chance


def oracle_line(
    preds_by_model: dict[str, pd.DataFrame], oracle_auc: float | None, model: str = MAIN_MODEL
) -> pd.Series | None:
    """Synthetic cohort: the model's mean fold AUC against the Bayes (oracle) AUC, and the share
    of the signal above chance it reaches (`signal_share`)."""
    if oracle_auc is None or model not in preds_by_model:
        return None
    auc = metrics.summarize(metrics.fold_metrics(preds_by_model[model])).loc["auc", "mean"]
    share = signal_share(float(auc), float(oracle_auc))
    return pd.Series(
        {
            "model AUC": round(float(auc), 3),
            "oracle AUC": round(float(oracle_auc), 3),
            "share above chance": round(share, 3),
            "target": f">= {SHARE_TARGET:.2f}",
            "met": bool(np.isfinite(share) and share >= SHARE_TARGET),
        },
        name=model,
    )


def reference_table(names: list[str]) -> pd.DataFrame:
    """One row per classical reference: what it sees, what it is fitted on, its threshold."""
    return pd.DataFrame(
        {
            SEES: [REFERENCE_LABELS[m] for m in names],
            "fitted on": FITTED_ON,
            "threshold": THRESHOLD_ON,
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
    reps = metrics.rank_auc(p[ip], p[ineg])
    lo, hi = np.quantile(reps, [(1 - level) / 2, 1 - (1 - level) / 2])
    auc = metrics.rank_auc(p[pos][None], p[neg][None])[0]
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
