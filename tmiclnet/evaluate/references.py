"""Classical references on the networks' folds: logistic regressions, the Mayo score, its refit.

Each reference learns from exactly the patients the networks learn from: for every fold of
`folds.csv` it is fitted on the fold's `train` split (`tmiclnet.inputs.folds.split`, the same call
`cross_validate` makes) and its decision threshold is chosen on the fold's `val` split by the
networks' own rule (`tmiclnet.threshold.choose_threshold`); the test patients are only predicted.
Imputation, scaling, one-hot encoding, the regressions and the Mayo score's probability scale are
all fitted on the `train` rows. The results are written in the trainer's layout (val and test
rows), so every table and figure treats them like the networks, and each is labelled with what it
sees (`REFERENCE_LABELS`), since a reference that sees more than the networks, or was fitted on
the test patients, is not a like-for-like comparison.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import os
from pathlib import Path

import pandas as pd

from tmiclnet import results
from tmiclnet.config import Profile
from tmiclnet.evaluate import fits, mayo
from tmiclnet.evaluate.fits import (  # noqa: F401  (the references' public names)
    OUTCOME_COLUMNS,
    THRESHOLD_ON,
    fit_logreg_fold,
    fit_mayo_fold,
    fit_on_train,
    make_logreg,
    make_mayo_risk,
    predictor_columns,
)
from tmiclnet.evaluate.mayo import MAYO_ALIASES, mayo_columns, mayo_risk_score  # noqa: F401
from tmiclnet.inputs import folds as folds_mod
from tmiclnet.threshold import choose_threshold

# What each reference sees (tables: the "sees" column) and a short form for figure legends.
REFERENCE_LABELS = {
    "logreg_clinical": (
        "logistic regression on every recorded field: the note's fields plus the recorded image "
        "findings (PBC: exact stage, hepatomegaly, ascites, which the networks see only through "
        "the CT)"
    ),
    "logreg_note_fields": (
        "logistic regression on the clinical note's fields only: what the text model sees"
    ),
    "logreg_image_fields": (
        "logistic regression on what the CT shows, the image ceiling of the CT-only model (PBC: "
        "the recorded stage, hepatomegaly and ascites the CT is rendered from; synthetic: the "
        "renderer's true fibrosis, liver scale and ascites thickness)"
    ),
    "mayo_risk": (
        "Mayo risk score: coefficients fitted on the Mayo trial (in-sample for trial patients)"
    ),
    "mayo_refit": (
        "Mayo's five inputs (log bilirubin, log albumin, age, log prothrombin time, edema) in a "
        "logistic regression fitted on each training fold (inputs chosen on the Mayo trial)"
    ),
}
SHORT_LABELS = {
    "logreg_clinical": "note fields + exact stage, hepato, ascites",
    "logreg_note_fields": "note fields: what the text sees",
    "logreg_image_fields": "what the CT shows: the CT-only model's ceiling",
    "mayo_risk": "Mayo trial coefficients: in-sample for trial patients",
    "mayo_refit": "Mayo inputs refitted on each training fold",
}
# The same as a tag of at most 12 characters: a table's "sees" column (its full label is listed
# once, above the tables, by `tables.reference_list`), so the tables fit a 1280 px page.
SEES_TAGS = {
    "logreg_clinical": "fields+stage",
    "logreg_note_fields": "note fields",
    "logreg_image_fields": "image fields",
    "mayo_risk": "Mayo, trial",
    "mayo_refit": "Mayo, refit",
}
FITTED_ON = "each fold's train split (the networks' training patients)"
# References that have seen some test patients' outcomes before the cross-validation: named with
# this mark wherever they are ranked, never as "the best" alone.
# mayo_refit refits its coefficients in each fold, but its five inputs and their log transforms
# were chosen by Dickson et al. on the same trial patients' outcomes: a selection made in sample.
IN_SAMPLE = {
    "mayo_risk": "in-sample: its coefficients were fitted on the 312 trial patients",
    "mayo_refit": "its inputs were chosen by Dickson et al. on the 312 trial patients",
}
# The profiles' validation fraction (every profile keeps the default; the networks' done.json
# keys carry it, and ensure_references checks the networks' saved val patients against it).
VAL_FRACTION = next(f.default for f in dataclasses.fields(Profile) if f.name == "val_fraction")


def legend_label(model: str) -> str:
    """`model` in a figure legend: a reference with what it sees, a network by its name.

    Args:
        model: a catalogue or reference model name.
    """
    return f"{model} ({SHORT_LABELS[model]})" if model in SHORT_LABELS else model


def reference_names(
    clinical: pd.DataFrame,
    extra: pd.DataFrame | None = None,
    schema=None,
    image: pd.DataFrame | None = None,
) -> list[str]:
    """The references a table supports, in the order they are written."""
    names = ["logreg_clinical"]
    if extra is not None and len(extra.columns):
        names.append("logreg_note_fields")
    if image is not None and len(image.columns):
        names.append("logreg_image_fields")
    return names + (["mayo_risk", "mayo_refit"] if mayo_columns(clinical, schema) else [])


def declared_table(clinical: pd.DataFrame, schema) -> pd.DataFrame:
    """The schema's predictor columns (table order), numeric ones as numbers, categorical ones as
    text, so the regression treats each column as declared (a code 0/1 declared categorical is
    one-hot encoded; a number typed as text in a numeric column becomes missing)."""
    if schema is None:
        return clinical
    keep = [c for c in clinical.columns if c in set(schema.predictors())]
    out = clinical[keep].copy()
    for col in keep:
        if schema.columns.get(col, {}).get("type") == "numeric":
            out[col] = pd.to_numeric(out[col], errors="coerce")
        elif pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].map(lambda v: v if pd.isna(v) else str(v)).astype(object)
    return out


def _string_ids(table: pd.DataFrame | None) -> pd.DataFrame | None:
    if table is None:
        return None
    table = table.copy()
    table.index = table.index.astype(str)
    return table


def _prepare(clinical, labels, folds, extra, schema, image=None):
    """(raw clinical table, {regression: its table}, labels), ids as strings."""
    raw = clinical.copy()
    raw.index = raw.index.astype(str)
    clinical = declared_table(clinical, schema).copy()
    clinical.index = clinical.index.astype(str)
    labels = labels.copy()
    labels.index = labels.index.astype(str)
    unknown = set(folds["id"]) - set(clinical.index)
    if unknown:
        raise ValueError(f"folds.csv ids missing from the clinical table: {sorted(unknown)[:5]}")
    full = clinical
    if extra is not None and len(extra.columns):
        extra = extra.copy()
        extra.index = extra.index.astype(str)
        full = clinical.join(
            extra.drop(columns=[c for c in extra.columns if c in clinical.columns])
        )
    tables = {"logreg_clinical": full, "logreg_note_fields": clinical}
    if image is not None:
        tables["logreg_image_fields"] = _string_ids(image)
    return raw, tables, labels


def content_key(
    clinical: pd.DataFrame,
    labels: pd.Series,
    folds: pd.DataFrame,
    seed: int,
    extra: pd.DataFrame | None = None,
    schema=None,
    val_fraction: float = VAL_FRACTION,
    image: pd.DataFrame | None = None,
) -> str:
    """sha256 of everything the references depend on: tables, labels, folds, the train/val split
    (seed, validation fraction, the split's and the threshold rule's code), schema and the
    references' own source (an edited reference is refitted; no version to bump by hand)."""
    h = hashlib.sha256()
    sources = (__file__, fits.__file__, mayo.__file__, folds_mod.__file__)
    for source in map(Path, sources):
        h.update(source.read_bytes())
    h.update(inspect.getsource(choose_threshold).encode())
    if schema is not None:
        h.update(json.dumps(schema.to_dict(), sort_keys=True, default=str).encode())
    extra_csv = "" if extra is None else extra.sort_index().to_csv()
    image_csv = "" if image is None else image.sort_index().to_csv()
    for part in (
        clinical.sort_index().to_csv(),
        extra_csv,
        image_csv,
        labels.sort_index().to_csv(),
        folds.sort_values("id").to_csv(index=False),
        str(seed),
        repr(float(val_fraction)),
    ):
        h.update(part.encode())
    return h.hexdigest()


def fold_splits(
    folds: pd.DataFrame, val_fraction: float = VAL_FRACTION, seed: int = 0
) -> dict[int, folds_mod.FoldSplit]:
    """{fold: its train/val/test split}, exactly as `cross_validate` splits for the networks.

    Args:
        folds: folds.csv (id, label, fold).
        val_fraction: the profile's validation fraction (`Profile.val_fraction`).
        seed: the training run's seed (`run.seed`).
    """
    return {
        int(k): folds_mod.split(folds, int(k), val_fraction, seed)
        for k in sorted(folds["fold"].unique())
    }


def split_mismatches(
    results_dir: str | os.PathLike, cohort: str, splits: dict[int, folds_mod.FoldSplit]
) -> list[str]:
    """'model fold k' for every saved network fold whose val patients differ from `splits`."""
    bad = []
    for model in results.trained_models(results_dir, cohort):
        if model in REFERENCE_LABELS:
            continue
        for k, folder in results.finished_folds(results_dir, cohort, model).items():
            pred = pd.read_csv(folder / "predictions.csv", dtype={"id": str})
            val = sorted(pred.loc[pred["split"] == "val", "id"])
            if k in splits and val and val != splits[k].val:
                bad.append(f"{model} fold {k}")
    return bad


def ensure_references(
    clinical: pd.DataFrame,
    labels: pd.Series,
    folds: pd.DataFrame,
    results_dir: str | os.PathLike,
    cohort: str,
    seed: int = 0,
    extra: pd.DataFrame | None = None,
    schema=None,
    val_fraction: float = VAL_FRACTION,
    image: pd.DataFrame | None = None,
) -> list[str]:
    """Score the references on every fold of folds.csv and write them as saved results, unless
    results keyed by the same content exist. Returns the reference names.

    Every reference is fitted on each fold's `train` split and thresholded on its `val` split,
    the same patients the networks learn from and stop on (`fold_splits`), so the comparison is
    like for like; a saved network whose val patients differ (trained with another seed or
    validation fraction) raises rather than being compared with references fitted on others.
    `logreg_clinical` uses every recorded field: `clinical` plus `extra` (e.g. the recorded image
    fields stage, hepato, ascites that the CT renderer draws from); `logreg_note_fields` (only when
    `extra` is given) uses `clinical` alone, the fields the clinical note states; `mayo_risk` (the
    published score) and `mayo_refit` (its five inputs refitted) need the five Mayo inputs;
    `logreg_image_fields` (only when `image` is given) uses `image` alone: what the CT shows, the
    ceiling the CT-only model is read against.

    Args:
        clinical: the clinical table, one row per patient (index id).
        labels: the outcome per patient (index id).
        folds: folds.csv (id, label, fold); each fold's test patients are scored, never fitted.
        results_dir: the results store's folder (`tmiclnet.results.results_root`).
        cohort: the cohort's name under `results_dir`.
        seed: the training run's seed (`run.seed`): it draws each fold's train/val split, as for
            the networks, and seeds the regressions.
        extra: recorded image fields the full clinical regression may use too.
        schema: the cohort's `tmiclnet.data.schema` (declared predictors, types, Mayo mapping).
        val_fraction: the profile's validation fraction (`run.profile.val_fraction`).
        image: what the CT shows, one row per patient (`tmiclnet.evaluate.report.image_fields`).
    """
    if "label" not in folds.columns:  # folds.csv has it; a hand-made table may not
        by_id = labels.set_axis(labels.index.astype(str))
        folds = folds.assign(label=by_id.loc[folds["id"].astype(str)].to_numpy(int))
    key = content_key(clinical, labels, folds, seed, extra, schema, val_fraction, image)
    n_folds = folds["fold"].nunique()
    names = reference_names(clinical, extra, schema, image)

    def fresh(model: str) -> bool:
        dirs = results.finished_folds(results_dir, cohort, model)
        return len(dirs) == n_folds and all(results.is_done(d, key) for d in dirs.values())

    splits = fold_splits(folds, val_fraction, seed)
    bad = split_mismatches(results_dir, cohort, splits)
    if bad:
        raise ValueError(
            f"{Path(results_dir) / cohort}: validation patients of {', '.join(bad[:3])} differ "
            f"from the split with seed {seed} and val_fraction {val_fraction}; pass the seed "
            "and profile the networks were trained with"
        )
    if all(fresh(m) for m in names):
        return names
    raw, tables, labels = _prepare(clinical, labels, folds, extra, schema, image)
    for k, split in splits.items():
        for model in names:
            probs, threshold, info = _fit_reference(model, raw, tables, labels, split, schema, seed)
            pred = pd.concat(
                pd.DataFrame(
                    {
                        "id": getattr(split, s),
                        "label": labels.loc[getattr(split, s)].to_numpy(int),
                        "prob": probs[s],
                        "split": s,
                    }
                )
                for s in ("val", "test")
            )
            done = {
                "model": model,
                "fold": k,
                "sees": REFERENCE_LABELS[model],
                "fitted_on": FITTED_ON,
                "n_train": len(split.train),
                "n_val": len(split.val),
                "key": key,
                **info,
            }
            folder = results.fold_dir(results_dir, cohort, model, k)
            results.write_fold(folder, pred, threshold, done)
    return names


def _fit_reference(model, raw, tables, labels, split, schema, seed):
    """(probabilities by split, threshold.json content, done.json extras) of one reference."""
    if model.startswith("logreg"):
        probs, threshold, _ = fit_logreg_fold(tables[model], labels, split, seed)
        return probs, threshold, {"columns": predictor_columns(tables[model])}
    refit = model == "mayo_refit"
    probs, threshold = fit_mayo_fold(raw, labels, split, schema, refit=refit, seed=seed)
    return probs, threshold, {"columns": mayo_columns(raw, schema)}


def score_others(
    model: str,
    clinical: pd.DataFrame,
    labels: pd.Series,
    split: folds_mod.FoldSplit,
    others: list[str],
    schema=None,
    seed: int = 0,
    extra: pd.DataFrame | None = None,
    image: pd.DataFrame | None = None,
) -> pd.Series:
    """Probabilities of patients outside the folds (`others`, e.g. those censored before the
    horizon) under reference `model` as fitted on `split`'s train rows: the same fit that scored
    the fold's test patients (the tables must hold the `others` rows too).

    Args:
        model: a reference name (`REFERENCE_LABELS`).
        clinical: the clinical table, fold patients and `others`.
        labels: labels of the fold patients (only the train and val rows are read).
        split: the fold's split.
        others: the ids to score.
        schema: the cohort's schema.
        seed: the run's seed.
        extra: recorded image fields (for `logreg_clinical`), every row.
        image: what the CT shows (for `logreg_image_fields`), every row.
    """
    scored = dataclasses.replace(split, test=list(others))
    folds = pd.DataFrame({"id": split.train + split.val, "fold": 0})
    raw, tables, labels = _prepare(clinical, labels, folds, extra, schema, image)
    probs, _, _ = _fit_reference(model, raw, tables, labels, scored, schema, seed)
    return pd.Series(probs["test"], index=list(others))
