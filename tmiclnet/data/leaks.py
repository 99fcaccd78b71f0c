"""Clinical columns that give the outcome away: by their name, or by predicting it too well alone.

A column that records the outcome (follow-up time, vital status, a copy of the label under
another name) makes the clinical reference look excellent and the comparison with the networks
meaningless. `data init` leaves such columns out of the drafted predictors, with the reason, and
the validator names any that a schema still uses. The checks on values need enough patients of
each class (`MIN_PER_CLASS`) to mean anything; below that they are skipped, not guessed.

Thresholds (documented in book/own_data.md):

- a single column whose AUC for the label is at least `LEAK_AUC` (either direction; the PBC
  trial's strongest predictor, bilirubin, reaches about 0.87 over its 312 patients);
- a column identical to the label up to a relabelling (two values, one per class);
- a column present for exactly the patients of one class (its missingness is the label).

A column measured at baseline that really predicts this well may say so in schema.yaml
(`baseline: true`): it is then reported as a fact, not a problem.
"""

from __future__ import annotations

import re

import pandas as pd

LEAK_AUC = 0.97
MIN_PER_CLASS = 8
# Names that are outcomes whatever the table: exact names (lower case, letters and digits only),
# words of a name (`fu_days`, `os_months`) and fragments. "time" and "status" are only exact
# names: prothrombin_time is a Mayo input, smoking_status a baseline field.
OUTCOME_NAMES = frozenset(
    {"time", "status", "label", "event", "target", "y", "class", "outcome", "days", "months"}
)
OUTCOME_WORDS = frozenset({"fu", "os", "pfs", "dfs", "efs", "tte", "ttd"})
OUTCOME_FRAGMENTS = ("death", "died", "dead", "deceas", "surviv", "censor", "mortal", "followup",
                     "outcome", "endpoint", "vitalstatus")  # fmt: skip


def outcome_name(column: str) -> bool:
    """True when a column's name says it is an outcome (follow-up, status, death, ...).

    Args:
        column: the clinical column's name.
    """
    words = re.split(r"[^a-z0-9]+", str(column).lower())
    compact = "".join(words)
    return (
        compact in OUTCOME_NAMES
        or bool(OUTCOME_WORDS & set(words))
        or any(part in compact for part in OUTCOME_FRAGMENTS)
    )


def auc(values: pd.Series, labels: pd.Series) -> float:
    """The AUC of `values` for `labels` (0/1), ties counted half: the Mann-Whitney statistic
    (no model fitted: a column's own ranking is what a reference could learn from it).

    Args:
        values: numbers, no missing value.
        labels: 0/1, both present, aligned with `values`.
    """
    ranks = values.rank()
    n1 = int((labels == 1).sum())
    n0 = len(labels) - n1
    return float((ranks[labels == 1].sum() - n1 * (n1 + 1) / 2) / (n0 * n1))


def _enough(labels: pd.Series) -> bool:
    counts = labels.value_counts()
    return len(counts) == 2 and int(counts.min()) >= MIN_PER_CLASS


def leak_reason(values: pd.Series, labels: pd.Series) -> str | None:
    """Why a column gives the label away, or None (also when there are too few patients to tell).

    Args:
        values: the column (index id; missing values allowed).
        labels: the 0/1 labels (index id).
    """
    labels = labels.dropna().astype(int)
    values = values.reindex(labels.index)
    present = values.notna()
    if _enough(labels) and present.any() and not present.all():
        split = labels.groupby(present.to_numpy()).nunique()
        if len(split) == 2 and (split == 1).all():
            return "present for exactly the patients of one class: its missingness is the label"
    values, labels = values[present], labels[present]
    if not _enough(labels):
        return None
    distinct = values.astype(str).nunique()
    if distinct == 2 and (labels.groupby(values.astype(str).to_numpy()).nunique() == 1).all():
        return "identical to the label up to a relabelling (one value per class)"
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().all() and distinct > 2:
        score = auc(numbers, labels)
        score = max(score, 1 - score)
        if score >= LEAK_AUC:
            return (
                f"predicts the label almost perfectly on its own (AUC {score:.2f} >= {LEAK_AUC}): "
                "an outcome under another name, or measured after it?"
            )
    return None
