"""Robustness of trained models at test time: a modality missing, noisier CT, another scanner.

Each fold's saved checkpoint is rebuilt and asked to predict its own test patients under a
perturbation, on every fold, and the AUC is compared with the unperturbed one (mean and sd over
folds).

- `drop_<modality>`: the modality is marked absent (`present` False), as if the patient had no
  CT / no radiomics / no note. Only models that learned to predict without a modality are asked
  (`missing_inputs`): the modality-dropout variants of the catalogue
  (`tmiclnet.models.catalogue.DROPOUT_VARIANTS`, trained here on demand through `run_cv`) and
  late fusion (it averages the unimodal models a patient has). A model trained with every
  modality always present would read an untrained stand-in (its random "missing" vector), and
  its row would measure that initialisation, not robustness.
- `ct_noise_<HU>`: Gaussian noise of that many HU added to the CT volumes.
- `external`: another center's scanner (`tmiclnet.data.render.EXTERNAL`: noisier, thicker slices,
  softer in-plane). The cohort is rendered again by that scanner (`tmiclnet.data.external`: same
  patients, same anatomy), its volumes go through the same CT transforms as the originals
  (`tmiclnet.inputs.features.ct_volumes`), and its radiomics are re-extracted with the profile's
  parameter file (cached per case). Each fold's radiomics pipeline is fitted on the fold's
  ORIGINAL training rows, as in training, and applied to the external test rows: the model meets
  the new center with the old center's scaling, as it would in the clinic.

When fusion models read cached CT tokens (the cpu profile), the fold's CT-only encoder turns the
perturbed volumes into new tokens first, exactly as during training.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import torch

from tmiclnet import results
from tmiclnet.batch import MODALITIES
from tmiclnet.data.render import EXTERNAL, Scanner
from tmiclnet.evaluate import saved
from tmiclnet.evaluate.rescan import rescan, rescanned_inputs
from tmiclnet.models.catalogue import BY_NAME, ct_only_name, train_overrides
from tmiclnet.provenance import atomic_write_bytes

ROBUSTNESS_VERSION = "3"
DEFAULT_MODELS = (
    "tmiclnet_tokens",
    "tmiclnet_tokens_md",
    "early_fusion",
    "early_fusion_md",
    "late_fusion",
    "ct_only",
)
# short column names, so that a table of every condition fits a page at 1280 px
SHORT = {
    "none": "none",
    "drop_ct": "no CT",
    "drop_radiomics": "no rad.",
    "drop_text": "no text",
    "ct_noise_10HU": "+10 HU",
    "ct_noise_25HU": "+25 HU",
    "ct_noise_50HU": "+50 HU",
    "external": "external",
}
WORDS = {"ct": "the CT", "radiomics": "the radiomics", "text": "the clinical note"}


@dataclass(frozen=True)
class Condition:
    """One test-time perturbation."""

    name: str
    drop: str | None = None  # modality marked absent
    noise_hu: float = 0.0  # extra Gaussian noise, HU
    scanner: Scanner | None = None  # the test patients rendered by this scanner (CT and radiomics)


def default_conditions() -> list[Condition]:
    return [
        Condition("none"),
        *(Condition(f"drop_{m}", drop=m) for m in MODALITIES),
        *(Condition(f"ct_noise_{h}HU", noise_hu=h) for h in (10, 25, 50)),
        Condition("external", scanner=EXTERNAL),
    ]


def conditions_table(conditions: list[Condition] | None = None) -> pd.DataFrame:
    """One row per condition: what is dropped, the extra noise, the scanner (flat, for a page).

    Used by notebook 12 (robustness).

    Args:
        conditions: the conditions to list; None: `default_conditions()`.
    """
    rows = [
        {
            "name": c.name,
            "drop": c.drop or "",  # blank, not NaN: nothing is dropped
            "noise_hu": c.noise_hu,
            "scanner": c.scanner.name if c.scanner else "",
        }
        for c in conditions or default_conditions()
    ]
    return pd.DataFrame(rows).set_index("name")


def window_width_hu() -> float:
    """HU per unit of the [0, 1] CT intensities (the dataset's liver window)."""
    from tmiclnet.data.dataset import WINDOW_HU

    return float(WINDOW_HU[1] - WINDOW_HU[0])


def add_noise(ct: torch.Tensor, noise_hu: float, seed: int) -> torch.Tensor:
    """`ct` (N,1,D,H,W in [0,1]) plus Gaussian noise of `noise_hu` HU, clipped to the window."""
    if noise_hu <= 0:
        return ct
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(ct.shape, generator=g, dtype=torch.float32) * (noise_hu / window_width_hu())
    return (ct + noise).clamp(0.0, 1.0)


def perturb(inputs: dict, cond: Condition, seed: int) -> dict:
    """A copy of model inputs (keys as in a model batch, CT as volumes) under `cond`."""
    out = dict(inputs)
    if cond.drop is not None:
        present = out["present"].clone()
        present[:, MODALITIES.index(cond.drop)] = False
        out["present"] = present
    if "ct" in out and cond.noise_hu > 0:
        out["ct"] = add_noise(out["ct"], cond.noise_hu, seed)
    return out


def modality_dropout_of(name: str) -> float:
    """The modality-dropout probability catalogue model `name` was trained with (0: none)."""
    return float(train_overrides(name).get("modality_dropout", 0.0))


# How a model meets a missing modality: the long form (`missing_inputs`) and the table's tag.
_MISSING = {
    "late": (
        "averages the unimodal models of the modalities a patient has (no stand-in)",
        "averages the rest",
    ),
    "vector": (
        "a learned missing vector takes the absent modality's place in the concatenation",
        "learned vector",
    ),
    "mask": (
        "the absent modality is masked out of TCAF's keys and of the mean over modalities",
        "masked out",
    ),
}


def _missing_way(name: str) -> str | None:
    """ "late", "vector" or "mask": how `name` predicts without a modality; None: it did not
    learn to (or reads one modality)."""
    entry = BY_NAME[name]
    if len(entry.modalities) < 2:
        return None
    if entry.fusion == "late":
        return "late"
    if modality_dropout_of(name) <= 0:
        return None
    released = entry.options.get("variant") == "released"
    return "vector" if entry.fusion == "concat" or released else "mask"


def missing_inputs(name: str) -> str | None:
    """How model `name` predicts without a modality, when it learned to; None when it did not
    (then its drop-a-modality rows are not computed).

    Args:
        name: a catalogue name.
    """
    way = _missing_way(name)
    if way is None:
        return None
    how = _MISSING[way][0]
    return (
        how
        if way == "late"
        else f"trained with modality dropout p={modality_dropout_of(name):g}: {how}"
    )


def missing_inputs_table(models) -> pd.DataFrame:
    """One row per model: its modality-dropout p and, as a short tag, how it predicts without a
    modality ("not asked": it was not trained for missing inputs, so its rows are not computed).

    Used by notebook 12 (robustness), whose text spells out each tag.

    Args:
        models: catalogue names, as a list or one comma-separated string.
    """
    rows = []
    for name in _names(models):
        way = _missing_way(name)
        if len(BY_NAME[name].modalities) < 2:
            tag = "one modality only"
        else:
            tag = _MISSING[way][1] if way else "not asked"
        rows.append({"model": name, "dropout p": modality_dropout_of(name), "without one": tag})
    return pd.DataFrame(rows).set_index("model")


def applies(cond: Condition, modalities: tuple[str, ...], name: str | None = None) -> bool:
    """A condition is meaningful for a model that reads the perturbed modality and keeps another;
    dropping a modality, only for a model that learned to predict without one (`missing_inputs`).
    """
    if cond.drop is not None:
        trained = name is None or missing_inputs(name) is not None
        return cond.drop in modalities and len(modalities) > 1 and trained
    if cond.scanner is not None:
        return "ct" in modalities or "radiomics" in modalities
    if cond.noise_hu > 0:
        return "ct" in modalities
    return True


def code_key() -> str:
    """sha256 of the code that turns saved models into robustness rows (this module, the rescan,
    the saved-fold loader, the renderer of the external scanner): an edit there is never served
    a stale cached table."""
    from tmiclnet.config import PACKAGE_DIR

    h = hashlib.sha256()
    for rel in (
        "evaluate/robustness.py",
        "evaluate/rescan.py",
        "evaluate/saved.py",
        "data/render.py",
        "data/external.py",
    ):
        h.update(rel.encode() + (PACKAGE_DIR / rel).read_bytes())
    return h.hexdigest()


def _names(models) -> list[str]:
    """Catalogue names from a list or a comma-separated string (as papermill passes it)."""
    if isinstance(models, str):
        models = [m.strip() for m in models.split(",") if m.strip()]
    unknown = [m for m in models if m not in BY_NAME]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; the catalogue has {sorted(BY_NAME)}")
    return list(models)


def train_dropout_variants(data_dir: str | Path, cohort_name: str, run, models) -> list[str]:
    """Train (or find, by their fold keys) the modality-dropout variants among `models` on every
    fold, with the same folds and CT-only encoders as the training page; returns their names.

    Used by notebook 12 (robustness).

    Args:
        data_dir: the run's data folder (``run.data_dir``): holds the cohort and `results/`.
        cohort_name: the cohort's name, e.g. ``pbc``.
        run: the notebook's `tmiclnet.config.Run`.
        models: catalogue names, as a list or one comma-separated string; those trained with
            modality dropout (`modality_dropout_of` > 0) are trained.
    """
    from tmiclnet.train.cv import run_cv

    names = [m for m in _names(models) if modality_dropout_of(m) > 0]
    if names:
        run_cv(Path(data_dir) / cohort_name, names, run)
    return names


def training_seconds(data_dir: str | Path, cohort_name: str, models) -> pd.Series:
    """Seconds each model's training took, summed over its finished folds (from done.json).

    Used by notebook 12 (robustness): what the modality-dropout variants cost.

    Args:
        data_dir: the run's data folder (``run.data_dir``).
        cohort_name: the cohort's name, e.g. ``pbc``.
        models: catalogue names, as a list or one comma-separated string.
    """
    root = results.results_root(data_dir)
    return pd.Series(
        {
            m: sum(
                results.read_done(d).timing["seconds"]
                for d in results.finished_folds(root, cohort_name, m).values()
            )
            for m in _names(models)
        },
        name="seconds",
        dtype=float,
    )


def _key(
    results_dir: Path,
    cohort: str,
    models,
    conditions,
    seed: int,
    profile,
    folds: list[int] | None = None,
) -> str:
    from tmiclnet.data.cohort import GENERATOR_VERSION
    from tmiclnet.radiomics import params_path

    h = hashlib.sha256(ROBUSTNESS_VERSION.encode() + code_key().encode())
    h.update(json.dumps([asdict(c) for c in conditions]).encode() + str(seed).encode())
    h.update(json.dumps(folds).encode())
    if any(c.scanner for c in conditions):  # what the rescanned cohort and its radiomics depend on
        h.update(GENERATOR_VERSION.encode() + params_path(profile.radiomics_params).read_bytes())
        h.update((results_dir.parent / cohort / "cohort.json").read_bytes())
    for m in sorted(set(models) | {ct_only_name()}):
        for d in results.finished_folds(results_dir, cohort, m).values():
            h.update(results.done_path(d).read_bytes())
    return h.hexdigest()[:16]


def evaluate_robustness(
    data_dir: str | Path,
    cohort_name: str,
    run,
    models=DEFAULT_MODELS,
    conditions: list[Condition] | None = None,
    folds: int | None = None,
) -> pd.DataFrame:
    """AUC of each (model, fold, condition) on the fold's test patients, cached by content.

    Every fold by default. Returns DataFrame(model, fold, condition, auc, n); models without
    saved results are skipped (train the modality-dropout variants first:
    `train_dropout_variants`), and drop-a-modality rows are computed only for models that
    learned to predict without a modality (`missing_inputs`).

    Used by notebook 12 (robustness).

    Args:
        data_dir: the run's data folder (``run.data_dir``): holds the cohort and `results/`.
        cohort_name: the cohort's name, e.g. ``pbc``.
        run: the notebook's `tmiclnet.config.Run`: its profile and device are used, its seed and
            profile are part of the cache key.
        models: catalogue names, as a list or one comma-separated string (as papermill passes it);
            models without saved results are skipped.
        conditions: the perturbations to apply; None: `default_conditions()`.
        folds: evaluate the first that many folds only (bounds the cost of re-extracting the
            external center's radiomics); None or 0: every fold.
    """
    from sklearn.metrics import roc_auc_score

    data_dir = Path(data_dir)
    results_dir = data_dir / "results"
    conditions = conditions or default_conditions()
    models = [m for m in _names(models) if results.finished_folds(results_dir, cohort_name, m)]
    if not models:
        raise FileNotFoundError(
            f"{results_dir / cohort_name}: none of the models has saved results"
        )
    table = results.read_folds(results_dir, cohort_name)
    chosen = sorted(int(k) for k in table["fold"].unique())
    chosen = chosen[:folds] if folds else chosen
    key = _key(results_dir, cohort_name, models, conditions, run.seed, run.profile, chosen)
    cache = results_dir / cohort_name / "robustness" / f"{key}.csv"
    if cache.exists():
        return pd.read_csv(cache)
    opened = saved.open_inputs(data_dir, cohort_name, run)
    test_ids = list(table.loc[table["fold"].isin(chosen), "id"])
    scans = {
        c.scanner: rescan(opened.cohort, run, c.scanner, test_ids) for c in conditions if c.scanner
    }
    rows = []
    for k in chosen:
        fold = saved.saved_fold(data_dir, cohort_name, run, int(k), opened)
        y = fold.test.labels.numpy()
        perturbed = {
            c.name: rescanned_inputs(fold, opened.inputs, scans[c.scanner], run.profile)
            if c.scanner
            else perturb(fold.test.inputs, c, run.seed + int(k))
            for c in conditions
        }
        for name in models:
            if not fold.has(name):
                continue
            mods = tuple(fold.model(name)[0].modalities)
            for c in conditions:
                if applies(c, mods, name):
                    p = fold.probs(name, perturbed[c.name]).numpy()
                    rows.append(
                        {
                            "model": name,
                            "fold": int(k),
                            "condition": c.name,
                            "auc": float(roc_auc_score(y, p)),
                            "n": len(y),
                        }
                    )
    out = pd.DataFrame(rows)
    atomic_write_bytes(cache, out.to_csv(index=False).encode())
    return out


def _ordered(df: pd.DataFrame) -> list[str]:
    order = [c.name for c in default_conditions() if c.name in set(df["condition"])]
    return order + [c for c in df["condition"].unique() if c not in order]


def _changes(df: pd.DataFrame) -> pd.DataFrame:
    """`df` with `change`: the AUC minus the same model's unperturbed AUC on the same fold."""
    base = df[df["condition"] == "none"].set_index(["model", "fold"])["auc"]
    d = df.join(base.rename("base"), on=["model", "fold"])
    return d.assign(change=d["auc"] - d["base"])


def _stat(df: pd.DataFrame, column: str, how: str) -> pd.DataFrame:
    table = df.groupby(["model", "condition"])[column].agg(how).unstack("condition")
    return table.reindex(columns=_ordered(df))


# The conditions of each half of `summary_table`: a table of all eight is too wide for the page.
MISSING_CONDITIONS = ("none", "drop_ct", "drop_radiomics", "drop_text")
SHIFT_CONDITIONS = ("ct_noise_10HU", "ct_noise_25HU", "ct_noise_50HU", "external")


def summary_table(df: pd.DataFrame, decimals: int = 2, part: str = "all") -> pd.DataFrame:
    """Models x conditions: "mean ± sd" of the test AUC over folds (blank where a condition does
    not apply or the model was not trained for missing inputs), short column names (`SHORT`).

    Used by notebook 12 (robustness), in two halves one under the other.

    Args:
        df: the (model, fold, condition, auc, n) table from `evaluate_robustness`.
        decimals: decimals of the mean and the sd.
        part: "all", "missing" (`MISSING_CONDITIONS`: unperturbed and each modality dropped) or
            "shift" (`SHIFT_CONDITIONS`: CT noise and the external center).
    """
    keep = {"all": None, "missing": MISSING_CONDITIONS, "shift": SHIFT_CONDITIONS}
    if part not in keep:
        raise ValueError(f"part must be one of {sorted(keep)}, not {part!r}")
    mean, sd = _stat(df, "auc", "mean"), _stat(df, "auc", "std")
    text = pd.DataFrame(
        [[_pm(m, v, decimals) for m, v in zip(mean.loc[i], sd.loc[i])] for i in mean.index],
        index=mean.index,
        columns=mean.columns,
    )
    if keep[part] is not None:
        text = text[[c for c in text.columns if c in keep[part]]]
    return text.rename(columns=SHORT)


def _pm(mean: float, sd: float, decimals: int) -> str:
    if pd.isna(mean):
        return ""
    return f"{mean:.{decimals}f}" + ("" if pd.isna(sd) else f" ± {sd:.{decimals}f}")


def drop_table(df: pd.DataFrame, stat: str = "mean") -> pd.DataFrame:
    """AUC change against the unperturbed model, per model and condition (mean or sd over
    folds of the per-fold change), short column names.

    Used by notebook 12 (robustness).

    Args:
        df: the (model, fold, condition, auc, n) table from `evaluate_robustness`.
        stat: ``mean`` or ``std`` over folds.
    """
    return _stat(_changes(df), "change", stat).drop(columns="none").rename(columns=SHORT)


def _amount(change: float, sd: float) -> str:
    """'loses 0.17 ± 0.04' / 'gains 0.02 ± 0.03' in words, 'within the fold spread' if small."""
    verb = "loses" if change < 0 else "gains"
    words = f"{verb} {abs(change):.2f} ± {sd:.2f} AUC"
    return words + (" (within the spread between folds)" if abs(change) <= sd else "")


def findings(df: pd.DataFrame) -> str:
    """What the numbers say, in markdown sentences built from them (so that the page's prose
    follows the profile's numbers and cannot contradict its table): which modality the models
    trained for missing inputs lean on, and what noise and the external center cost.

    Used by notebook 12 (robustness).

    Args:
        df: the (model, fold, condition, auc, n) table from `evaluate_robustness`.
    """
    d = _changes(df)
    mean = d.groupby(["model", "condition"])["change"].mean()
    sd = d.groupby(["model", "condition"])["change"].std().fillna(0.0)
    n_folds = d["fold"].nunique()
    out = [f"Over {n_folds} folds (mean ± sd of the per-fold AUC change):"]
    drops = [c for c in _ordered(df) if c.startswith("drop_")]
    if drops:
        worst = {}
        for c in drops:
            models = sorted(m for m, k in mean.index if k == c)
            said = "; ".join(f"{m} {_amount(mean[m, c], sd[m, c])}" for m in models)
            modality = c.removeprefix("drop_")
            worst[modality] = float(mean.xs(c, level="condition").mean())
            out.append(f"- without {WORDS.get(modality, modality)}: {said}.")
        lean = min(worst, key=worst.get)
        rest = [m for m in worst if m != lean]
        if worst[lean] < -0.05:
            out.append(
                f"- The models trained for missing inputs lean on {WORDS.get(lean, lean)}: "
                f"without it they lose {-worst[lean]:.2f} AUC on average, which the other "
                f"{'two' if len(rest) == 2 else 'modalities'} do not make up for; "
                + " and ".join(
                    f"without {WORDS.get(m, m)} the AUC changes by {worst[m]:+.2f}" for m in rest
                )
                + " on average."
            )
        else:
            out.append(
                "- No single modality is indispensable: dropping any one costs at most "
                f"{-worst[lean]:.2f} AUC on average."
            )
    for c in [c for c in _ordered(df) if c.startswith("ct_noise_") or c == "external"][-2:]:
        if (c in mean.index.get_level_values("condition")) and c in SHORT:
            models = sorted(m for m, k in mean.index if k == c)
            lo = min(models, key=lambda m: mean[m, c])
            what = "the external center" if c == "external" else f"{SHORT[c]} of CT noise"
            out.append(
                f"- Under {what} the largest change is {lo}'s: it {_amount(mean[lo, c], sd[lo, c])}"
                f"; the smallest in size is {min(models, key=lambda m: abs(mean[m, c]))}'s "
                f"({mean[min(models, key=lambda m: abs(mean[m, c])), c]:+.2f})."
            )
    return "\n".join(out)
