"""Every test patient's risk under every model, censored patients included, into the risk files.

The eligible test patients' risks are the saved predictions (`predictions.csv`, test rows). The
patients censored before the horizon were never in the binary folds: they join them as
`tmiclnet.inputs.survival.add_censored` assigns them (the same call the Cox training makes), and
each is scored by the models of the fold they join: a network rebuilt from its checkpoint with
the fold's own inputs (radiomics scaled on its training rows, CT tokens from its CT-only encoder;
`tmiclnet.evaluate.saved.SavedFold`), a classical reference refitted on the fold's training rows
(`tmiclnet.evaluate.references.score_others`, the fit that scored its test patients). A
Cox-trained model (`tmiclnet.train.survival`) predicted them itself. Nothing is trained here.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import torch
from tqdm.auto import tqdm

from tmiclnet import results
from tmiclnet.evaluate.references import REFERENCE_LABELS, score_others
from tmiclnet.evaluate.report import image_fields, recorded_extra
from tmiclnet.evaluate.saved import SavedFold
from tmiclnet.inputs.folds import repeat_seed, split
from tmiclnet.inputs.survival import add_censored, survival_inputs
from tmiclnet.models.catalogue import COX_SUFFIX
from tmiclnet.train.risks import survival_dir, write_risks

MODALITIES_ALL = {"ct", "radiomics", "text"}


def _test_rows(where: Path, cohort: str, model: str) -> pd.DataFrame:
    pred = results.load_predictions(where, cohort, model)
    test = pred.loc[pred["split"] == "test", ["id", "prob", "fold"]]
    return test.rename(columns={"prob": "risk"})


def _reference_tables(data_dir: Path, cohort_name: str):
    """(clinical, extra, image, schema) of the cohort and its companion, rows of both."""
    from tmiclnet.data.censored import open_censored
    from tmiclnet.data.cohort import load

    a, b = load(data_dir / cohort_name), open_censored(data_dir)

    def both(f):
        x, y = f(a), f(b)
        return None if x is None or y is None else pd.concat([x, y])

    clinical = pd.concat([a.clinical, b.clinical])
    return clinical, both(recorded_extra), both(image_fields), a.schema, a.labels


def collect_risks(
    data_dir: str | Path,
    cohort_name: str,
    models: list[str],
    run,
    repeats: list[int],
    results_dir: str | Path | None = None,
    cox_repeats: dict[str, list[int]] | None = None,
) -> dict[str, pd.DataFrame]:
    """{model: its risk file's rows} for every test patient of each repeat, written to the
    results store (`tmiclnet.train.risks.write_risks`) as they are made.

    Args:
        data_dir: the folder holding the cohort, its companion `pbc_censored/` and `results/`.
        cohort_name: the cohort's name (``pbc``).
        models: binary networks, references and Cox-trained variants (`*_cox`) to score.
        run: the run (profile, seed, device) the models were trained with.
        repeats: the repeats to read; each model needs every fold of each.
        results_dir: the results folder (default `<data_dir>/results`).
        cox_repeats: {Cox-trained variant: the repeats it trained on} (default: all `repeats`).
    """
    data_dir = Path(data_dir)
    root = Path(results_dir) if results_dir else results.results_root(data_dir)
    data = survival_inputs(data_dir, cohort_name, run, MODALITIES_ALL)
    follow = data.follow_up
    events = follow["event"].iloc[data.n_main :]
    main_ids = list(data.inputs.ids[: data.n_main])
    binary = torch.zeros(len(data.inputs.ids), dtype=torch.long)
    ref_tables = _reference_tables(data_dir, cohort_name)
    cohort_labels = ref_tables[4]
    binary[: data.n_main] = torch.tensor(cohort_labels.loc[main_ids].to_numpy(int))
    inputs = dataclasses.replace(data.inputs, labels=binary)
    frames: dict[str, list] = {m: [] for m in models}
    cox = [m for m in models if m.endswith(COX_SUFFIX)]
    others = [m for m in models if m not in cox]
    for r in repeats:
        where, seed = results.run_dir(root, r), repeat_seed(run.seed, r)
        folds = results.read_folds(where, cohort_name)
        table = add_censored(folds, events, run.profile.folds, seed)
        cox_dir = results.run_dir(survival_dir(root), r)
        here = [m for m in cox if cox_repeats is None or r in cox_repeats.get(m, ())]
        rows = {m: [_test_rows(cox_dir, cohort_name, m)] for m in here}
        rows |= {m: [_test_rows(where, cohort_name, m)] for m in others}
        for k in tqdm(sorted(folds["fold"].unique()), desc=f"censored, repeat {r}", leave=False):
            part = split(folds, int(k), run.profile.val_fraction, seed)
            extra = table.loc[(~table["eligible"]) & (table["fold"] == k), "id"].tolist()
            if not extra or not others:
                continue
            where_fold = (where, cohort_name, seed)
            scored = _score_fold(others, inputs, part, extra, where_fold, run, ref_tables)
            for m, risk in scored.items():
                rows[m].append(pd.DataFrame({"id": extra, "risk": risk, "fold": int(k)}))
        for m in rows:
            frames[m].append(pd.concat(rows[m], ignore_index=True).assign(repeat=r))
    out = {}
    for m in (m for m in models if frames[m]):  # a Cox variant not trained on `repeats`: none
        risks = pd.concat(frames[m], ignore_index=True)
        risks = risks.join(follow[["time", "event"]], on="id")
        write_risks(root, cohort_name, m, risks)
        out[m] = risks
    return out


def _score_fold(models, inputs, part, extra, where_fold, run, ref_tables) -> dict:
    """{model: risks of the `extra` patients} from fold `part.fold`'s saved models (the networks'
    results folder, cohort and repeat seed in `where_fold`)."""
    from tmiclnet.inputs.features import fold_inputs

    where, cohort_name, seed = where_fold
    clinical, rec, image, schema, labels = ref_tables
    fin = fold_inputs(inputs, part, run.profile)
    fold = SavedFold(part.fold, where, cohort_name, fin, fin.data.subset(extra), run.device)
    out = {}
    for m in models:
        if m in REFERENCE_LABELS:
            probs = score_others(m, clinical, labels, part, extra, schema, seed, rec, image)
            out[m] = probs.to_numpy()
        else:
            out[m] = fold.probs(m).numpy()
    return out


@dataclasses.dataclass
class SurvivalView:
    """A cohort's survival view: the risk files' rows, the metrics, and what was left out."""

    risks: dict[str, pd.DataFrame]  # model -> id, time, event, risk, fold, repeat
    summary: object  # tmiclnet.evaluate.survival.SurvivalSummary
    repeats: list[int]
    notes: list[str]


def survival_view(
    data_dir: str | Path,
    cohort_name: str,
    run,
    models: list[str] | None = None,
    results_dir: str | Path | None = None,
) -> SurvivalView:
    """Score every usable model and reference (and the Cox-trained variants found) on every test
    patient of every trained repeat, write the risk files and compute the survival metrics.

    Only models with every fold of every repeat found, by the current code, enter (as for the
    binary tables). A Cox-trained variant enters with the repeats it finished every fold of (the
    survival page trains it on the first repeat only, for time): its metrics, and its comparison
    with its binary version (`survival.paired`), use those folds; a note says so.

    Used by notebook 09b (survival) and `python -m tmiclnet evaluate --survival`.

    Args:
        data_dir: the folder holding the cohort, its companion and `results/`.
        cohort_name: the cohort's name (``pbc``).
        run: the run the models were trained with (profile, seed, device).
        models: the models to score (default: every usable one).
        results_dir: the results folder (default `<data_dir>/results`).
    """
    from tmiclnet.evaluate import survival
    from tmiclnet.evaluate.repeats import fit_ratio, score_references
    from tmiclnet.evaluate.report import usable_models
    from tmiclnet.models.catalogue import SURVIVAL_VARIANTS

    root = Path(results_dir) if results_dir else results.results_root(data_dir)
    found, usable, notes, cox_found = [], [], [], {}
    for r in range(run.profile.cv_repeats):
        where = results.run_dir(root, r)
        if not results.folds_path(where, cohort_name).exists():
            notes.append(f"repeat {r}: not trained; left out")
            continue
        score_references(Path(data_dir) / cohort_name, root, r, run.seed)
        names, set_apart = usable_models(where, cohort_name)
        cox_where = results.run_dir(survival_dir(root), r)
        for e in SURVIVAL_VARIANTS:
            if not results.unusable(cox_where, cohort_name, e.name) and results.finished_folds(
                cox_where, cohort_name, e.name
            ):
                cox_found.setdefault(e.name, []).append(r)
        found.append(r)
        usable.append(set(names))
        notes += [f"repeat {r}: {n}" for n in set_apart]
    if not found:
        raise FileNotFoundError(f"{root / cohort_name}: no repeat trained; train models first")
    keep = sorted(set.intersection(*usable)) + sorted(cox_found) if models is None else models
    notes += [
        f"{m}: trained on repeat(s) {', '.join(map(str, rs))} of "
        f"{', '.join(map(str, found))}; compared with its binary version on those folds"
        for m, rs in cox_found.items()
        if rs != found
    ]
    risks = collect_risks(data_dir, cohort_name, keep, run, found, root, cox_found)
    per_fold = {m: survival.fold_metrics(t) for m, t in risks.items()}
    ratios = [
        fit_ratio(results.read_folds(results.run_dir(root, r), cohort_name),
                  run.profile.val_fraction, repeat_seed(run.seed, r))
        for r in found
    ]  # fmt: skip
    summary = survival.summarise(per_fold, float(sum(ratios) / len(ratios)))
    return SurvivalView(risks, summary, found, notes)
