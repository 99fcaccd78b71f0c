"""What a leaky protocol reports: the same models trained under our protocol and the released one.

The released TMI-CLNet code z-scores the radiomic features on every patient before the folds,
early-stops and picks the best epoch on the test fold (it has no validation split) and uses an
unstratified KFold. A `Protocol` is those three switches; `train_protocol` runs the book's own
training path (`tmiclnet.train.cv`: the same jobs, keys, results store and pooled schedule) with
the switches applied to the folds, the splits and the scaler only, so our protocol is exactly the
one every other chapter uses. Each (protocol, labels) pair has its own results folder and its own
config hashes, and the CT-only model whose tokens feed TMI-CLNet is trained again under every
protocol's split: an encoder trained on our folds has seen another split's test patients.

Every fold also leaves an audit: which patients the scaler was fitted on and which ones the
early-stopping criterion was computed on, so a table (and a test) can show where the test fold
leaked in.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from scipy.stats import rankdata
from sklearn.model_selection import KFold
from tqdm.auto import tqdm

from tmiclnet import results
from tmiclnet.config import CtStrategy, Run
from tmiclnet.inputs import folds as folds_mod
from tmiclnet.inputs.features import CohortInputs, FoldInputs, fold_inputs, load_inputs
from tmiclnet.inputs.folds import FoldSplit
from tmiclnet.models.catalogue import ct_only_name, modalities_of
from tmiclnet.provenance import atomic_write_text
from tmiclnet.train.ddp import SINGLE
from tmiclnet.train.jobs import JobContext, ct_plan
from tmiclnet.train.schedule import train_folds

DEFAULT_MODELS = ("tmiclnet_tokens", "radiomics_only")


@dataclass(frozen=True)
class Protocol:
    """How a cross-validation treats its test fold: our protocol has every switch off."""

    name: str
    scaler_on_all: bool = False  # radiomics imputed and z-scored on every patient, before folds
    stop_on_test: bool = False  # no validation split: early stopping, best epoch, threshold on test
    unstratified: bool = False  # KFold (the release's) instead of StratifiedKFold

    @property
    def leaks(self) -> list[str]:
        """The switches that are on, in words."""
        words = {
            "scaler_on_all": "scaler on all patients",
            "stop_on_test": "stopping on the test fold",
            "unstratified": "unstratified folds",
        }
        return [w for f, w in words.items() if getattr(self, f)]


OURS = Protocol("ours")
PROTOCOLS = (
    OURS,
    Protocol("scaler on all", scaler_on_all=True),
    Protocol("stop on test", stop_on_test=True),
    Protocol("unstratified", unstratified=True),
    Protocol("released", scaler_on_all=True, stop_on_test=True, unstratified=True),
)
BY_NAME = {p.name: p for p in PROTOCOLS}


def protocols_table(protocols: tuple[Protocol, ...] = PROTOCOLS) -> pd.DataFrame:
    """One row per protocol, one column per switch (True = that leak is on).

    Args:
        protocols: the protocols to list (default: all).
    """
    rows = [{k: v for k, v in dataclasses.asdict(p).items()} for p in protocols]
    return pd.DataFrame(rows).set_index("name")


def protocol_folds(labels: pd.Series, protocol: Protocol, n_folds: int, seed: int) -> pd.DataFrame:
    """DataFrame(id, label, fold): stratified folds (ours), or KFold(shuffle) as the release does.

    Args:
        labels: 0/1 label per patient id.
        protocol: its `unstratified` switch picks the splitter.
        n_folds: number of folds.
        seed: the splitter's random state.
    """
    if not protocol.unstratified:
        return folds_mod.make_folds(labels, n_folds, seed)
    labels = labels.astype(int).sort_index()
    fold = np.empty(len(labels), dtype=int)
    splitter = KFold(n_splits=n_folds, shuffle=True, random_state=seed)
    for k, (_, test_idx) in enumerate(splitter.split(np.zeros(len(labels)))):
        fold[test_idx] = k
    return pd.DataFrame({"id": labels.index.astype(str), "label": labels.to_numpy(), "fold": fold})


def protocol_split(
    folds: pd.DataFrame, fold: int, protocol: Protocol, val_fraction: float, seed: int
) -> FoldSplit:
    """Fold `fold`'s parts: ours (train / validation / test), or, stopping on the test fold, the
    whole training part as train and the test fold in the validation's place.

    Args:
        folds: DataFrame(id, label, fold) from `protocol_folds`.
        fold: the fold index.
        protocol: its `stop_on_test` switch removes the validation split.
        val_fraction: share of the training part held out for validation (ours).
        seed: the validation split's random state (plus the fold index).
    """
    if not protocol.stop_on_test:
        return folds_mod.split(folds, fold, val_fraction, seed)
    test = sorted(folds.loc[folds["fold"] == fold, "id"])
    train = sorted(folds.loc[folds["fold"] != fold, "id"])
    return FoldSplit(fold, train, list(test), test)  # val IS the test fold: the release's leak


def protocol_fold_inputs(
    inputs: CohortInputs, split: FoldSplit, run: Run, protocol: Protocol
) -> tuple[FoldInputs, list[str]]:
    """(the fold's tensors, the ids the radiomics scaler was fitted on).

    Ours fits the radiomics pipeline (impute, z-score) on the fold's training rows; with
    `scaler_on_all` it is fitted on every patient, as the release z-scores before splitting. The
    models read the clinical fields as note text, so this is the only scaler on their path.

    Args:
        inputs: every patient's inputs (`load_inputs`).
        split: the fold's parts (`protocol_split`).
        run: its profile is read.
        protocol: its `scaler_on_all` switch.
    """
    if protocol.scaler_on_all and run.profile.radiomics_select_k:
        raise ValueError(
            "scaler on all patients: the profile also selects features by label "
            "(radiomics_select_k), which would leak more than the release's z-scoring"
        )
    fit_ids = list(inputs.ids) if protocol.scaler_on_all else list(split.train)
    fin = fold_inputs(inputs, dataclasses.replace(split, train=fit_ids), run.profile)
    return FoldInputs(fin.data, split, fin.rad_families, fin.rad_columns), fit_ids


def permute_labels(labels: pd.Series, seed: int) -> pd.Series:
    """The same labels shuffled across patients (seeded): any AUC above 0.5 on them is a leak.

    Args:
        labels: 0/1 label per patient id.
        seed: the permutation's seed.
    """
    rng = np.random.default_rng(seed)
    return pd.Series(rng.permutation(labels.to_numpy()), index=labels.index, name=labels.name)


def labels_tag(permute_seed: int | None) -> str:
    """The folder name of one labelling: `real`, or `permuted-<seed>`."""
    return "real" if permute_seed is None else f"permuted-{permute_seed}"


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


def _keyed(inputs: CohortInputs, labels: pd.Series, protocol: Protocol) -> CohortInputs:
    """The inputs with `labels` and with the protocol and the labels in `info`, which every
    (model, fold) key hashes: no result of one protocol or labelling can serve another."""
    y = labels.loc[inputs.ids].astype(int)
    digest = hashlib.sha256(pd.util.hash_pandas_object(y).to_numpy().tobytes()).hexdigest()[:16]
    info = {**inputs.info, "protocol": dataclasses.asdict(protocol), "labels_key": digest}
    return dataclasses.replace(inputs, labels=torch.tensor(y.to_numpy()), info=info)


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

    The jobs are `tmiclnet.train.cv`'s (CT-only model first when CT tokens are cached, then the
    others, pooled on a CPU); only the folds, the splits and the scaler follow the protocol.
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
    results_dir = Path(results_dir)
    inputs = _keyed(inputs, labels, protocol)
    table = protocol_folds(labels.loc[inputs.ids], protocol, run.profile.folds, run.seed)
    table = _saved_folds(results.folds_path(results_dir, cohort_name), table)
    cached, ct_name, order = ct_plan(run.profile, models)
    ctx = JobContext(inputs, cohort_name, cached, ct_name, run, results_dir, SINGLE, retrain)
    fins, audit = [], []
    for k in range(run.profile.folds):
        split = protocol_split(table, k, protocol, run.profile.val_fraction, run.seed)
        fin, scaler_ids = protocol_fold_inputs(inputs, split, run, protocol)
        fins.append((k, fin))
        test = set(split.test)
        audit.append(
            {
                "protocol": protocol.name,
                "fold": k,
                "n_test": len(test),
                "scaler_saw_test": len(test & set(scaler_ids)),
                "stopping_read_test": len(test & set(split.val)),
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
    protocols: tuple[Protocol, ...] = PROTOCOLS,
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
        protocols: which protocols to run (default: ours, each leak alone, the released one).
        retrain: train even where finished folds exist.
    """
    from tmiclnet.data.cohort import load

    cohort = load(cohort_path)
    models = list(models)
    want = set().union(*(modalities_of(m) for m in models))
    if "ct" in want and run.profile.ct_strategy is CtStrategy.CACHED:
        want |= set(modalities_of(ct_only_name()))
    inputs = load_inputs(cohort, run.profile, want)
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


# -- the table -------------------------------------------------------------------------------------
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


# -- the figure ------------------------------------------------------------------------------------
def leakage_figure(tables: list[pd.DataFrame]) -> Figure:
    """AUC per protocol with its 95 % interval, one panel per labelling, one colour per model;
    the dashed line is our protocol's AUC (on permuted labels the dotted one is chance, 0.5).

    Args:
        tables: `leakage_table` outputs, e.g. [real labels, permuted labels].
    """
    # about 4 inches a panel: two panels fill the column (style.COLUMN_PX) barely shrunk
    fig, axes = plt.subplots(1, len(tables), figsize=(4.1 * len(tables), 4.2), squeeze=False)
    for ax, table in zip(axes[0], tables):
        protocols = list(dict.fromkeys(table["protocol"]))
        models = list(dict.fromkeys(table["model"]))
        width = 0.8 / len(models)
        for i, m in enumerate(models):
            t = table[table["model"] == m].set_index("protocol").loc[protocols]
            x = np.arange(len(protocols)) + (i - (len(models) - 1) / 2) * width
            err = [t["auc"] - t["auc_lo"], t["auc_hi"] - t["auc"]]
            line = ax.errorbar(x, t["auc"], yerr=err, fmt="o", capsize=4, ms=7, label=m)
            ax.axhline(t.loc[OURS.name, "auc"], color=line[0].get_color(), ls="--", lw=1)
        if table["labels"].iloc[0] != "real":
            ax.axhline(0.5, color="0.3", ls=":", lw=1.5, label="chance (0.5)")
        ax.set_xticks(np.arange(len(protocols)), protocols, rotation=30, ha="right", fontsize=11)
        ax.set_ylabel("test AUC (pooled over folds)", fontsize=11)
        ax.set_title(f"labels: {table['labels'].iloc[0]}", fontsize=12)
        ax.tick_params(axis="y", labelsize=11)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=10, loc="best")
    fig.tight_layout()
    return fig


# -- the prose -------------------------------------------------------------------------------------
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
