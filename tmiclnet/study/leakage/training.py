"""Training the study: every model under every protocol, each (protocol, labels) in its own store.

The jobs are the training page's (`tmiclnet.train.jobs`, scheduled by
`tmiclnet.train.schedule.train_folds`); only the inputs differ, as `assembly` makes them, and
their keys carry the protocol, the labels and the assembly's code. Results live under
`<data_dir>/studies/leakage/`, outside `<data_dir>/results`, so no other chapter ever reads a
leaky model.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from tmiclnet import results
from tmiclnet.config import Run
from tmiclnet.inputs.features import CohortInputs, load_inputs
from tmiclnet.provenance import atomic_write_text
from tmiclnet.study.leakage.assembly import (
    assemble_folds,
    keyed_inputs,
    permute_labels,
    protocol_folds,
)
from tmiclnet.study.leakage.protocols import TRAINING_PATH, Protocol, labels_tag
from tmiclnet.train.ddp import SINGLE
from tmiclnet.train.jobs import JobContext, ct_plan, needed_modalities
from tmiclnet.train.schedule import train_folds

DEFAULT_MODELS = ("tmiclnet_tokens", "radiomics_only")


def study_dir(data_dir: str | Path, permute_seed: int | None, protocol: Protocol) -> Path:
    """`<data_dir>/studies/leakage/<labels>/<protocol>`: one results store per protocol and
    labelling, outside `<data_dir>/results` so no other chapter ever reads a leaky model.

    Args:
        data_dir: the run's data folder.
        permute_seed: None for the real labels, else the permutation's seed.
        protocol: the protocol.
    """
    name = protocol.name.replace(" ", "_")
    return Path(data_dir) / "studies" / "leakage" / labels_tag(permute_seed) / name


def _saved_folds(path: Path, table: pd.DataFrame) -> pd.DataFrame:
    """The protocol's folds, written once; a saved file that differs raises (never overwritten)."""
    if path.exists():
        saved = pd.read_csv(path, dtype={"id": str})
        if not saved.reset_index(drop=True).equals(table.reset_index(drop=True)):
            raise ValueError(f"{path}: folds differ from this protocol's; use another data folder")
        return saved
    atomic_write_text(path, table.to_csv(index=False))
    return table


def train_protocol(
    inputs: CohortInputs,
    cohort_name: str,
    labels: pd.Series,
    models: list[str],
    run: Run,
    results_dir: str | Path,
    protocol: Protocol,
    retrain: bool = False,
) -> pd.DataFrame:
    """Cross-validate `models` under `protocol`; one audit row per fold.

    The jobs are the training page's (CT-only model first when CT tokens are cached, then the
    others, pooled on a CPU); only the folds, the splits and the scaler follow the protocol
    (`assembly.assemble_folds`).
    Audit columns: the test patients, how many of them the scaler was fitted on, and how many the
    early-stopping criterion was computed on (the validation part that `train_fold` hands to
    `fit`).

    Args:
        inputs: every patient's inputs (`load_inputs`).
        cohort_name: the cohort's name (its folder in the results store).
        labels: the labels to train on (real or permuted), per patient id.
        models: catalogue names.
        run: profile, seed and device.
        results_dir: this protocol's results store (`study_dir`).
        protocol: the protocol.
        retrain: train even where a finished fold with the same key exists.
    """
    if protocol.fixed_epochs:
        raise ValueError(
            f"protocol {protocol.name!r}: the training path keeps the best validation epoch; "
            "the fixed-epochs control runs in `replicates`"
        )
    if protocol.patience is not None:  # the release's patience, for the CT-only model's too
        profile = dataclasses.replace(run.profile, patience=protocol.patience)
        run = run.replace(profile=profile)
    results_dir = Path(results_dir)
    inputs = keyed_inputs(inputs, labels, protocol)
    table = protocol_folds(labels.loc[inputs.ids], protocol, run.profile.folds, run.seed)
    table = _saved_folds(results.folds_path(results_dir, cohort_name), table)
    cached, ct_name, order = ct_plan(run.profile, models)
    ctx = JobContext(inputs, cohort_name, cached, ct_name, run, results_dir, SINGLE, retrain)
    fins, audit = [], []
    for k, (fin, scaler_ids) in enumerate(assemble_folds(inputs, table, protocol, run)):
        fins.append((k, fin))
        test = set(fin.split.test)
        audit.append(
            {
                "protocol": protocol.name,
                "fold": k,
                "n_test": len(test),
                "scaler_saw_test": len(test & set(scaler_ids)),
                "stopping_read_test": len(test & set(fin.split.val)),
            }
        )
    train_folds(fins, order, ctx, desc=f"{cohort_name} {protocol.name}")
    return pd.DataFrame(audit)


@dataclass
class LeakageStudy:
    """Test predictions of every (protocol, model) and every fold's audit, for one labelling."""

    cohort: str
    permute_seed: int | None
    predictions: dict[tuple[str, str], pd.DataFrame]  # (protocol, model) -> load_predictions
    audit: pd.DataFrame


def run_study(
    cohort_path: str | Path,
    run: Run,
    models: list[str] | tuple[str, ...] = DEFAULT_MODELS,
    permute_seed: int | None = None,
    protocols: tuple[Protocol, ...] = TRAINING_PATH,
    retrain: bool = False,
) -> LeakageStudy:
    """Train `models` under every protocol on one cohort (its labels permuted when asked).

    Results go to `study_dir(run.data_dir, permute_seed, protocol)`; finished folds with the same
    key are read, not retrained.

    Args:
        cohort_path: the cohort folder (`tmiclnet.data.cohort.load` reads it).
        run: profile, data folder, seed and device (`tmiclnet.config.setup`).
        models: catalogue names (default: TMI-CLNet tokens and the radiomics-only model).
        permute_seed: None for the real labels; else the labels are shuffled with this seed.
        protocols: which protocols to run (default: ours, each leak alone, the released one;
            the fixed-epochs control runs in `replicates` only).
        retrain: train even where finished folds exist.
    """
    from tmiclnet.data.cohort import load

    cohort = load(cohort_path)
    models = list(models)
    inputs = load_inputs(cohort, run.profile, needed_modalities(run.profile, models))
    labels = cohort.labels.loc[cohort.ids].astype(int)
    if permute_seed is not None:
        labels = permute_labels(labels, permute_seed)
    preds, audits = {}, []
    for protocol in tqdm(protocols, desc=f"leakage ({labels_tag(permute_seed)})", unit="protocol"):
        out = study_dir(run.data_dir, permute_seed, protocol)
        audits.append(
            train_protocol(inputs, cohort.name, labels, models, run, out, protocol, retrain)
        )
        for m in models:
            preds[(protocol.name, m)] = results.load_predictions(out, cohort.name, m)
    return LeakageStudy(cohort.name, permute_seed, preds, pd.concat(audits, ignore_index=True))
