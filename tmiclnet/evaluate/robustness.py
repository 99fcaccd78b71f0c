"""Robustness of trained models at test time: a modality missing, noisier CT, another scanner.

Nothing is retrained: each fold's saved checkpoint is rebuilt and asked to predict its own test
patients under a perturbation, and the AUC is compared with the unperturbed one.

- `drop_<modality>`: the modality is marked absent (`present` False), as if the patient had no
  CT / no radiomics / no note; models are built to skip absent modalities, never to see zeros.
- `ct_noise_<HU>`: Gaussian noise of that many HU added to the CT volumes.
- `external`: another center's scanner (`tmiclnet.data.render.EXTERNAL`: noisier, thicker slices,
  softer in-plane). The cohort is rendered again by that scanner (`tmiclnet.data.external`: same
  patients, same anatomy), its volumes go through the same CT transforms as the originals
  (`tmiclnet.train.features.ct_volumes`), and its radiomics are re-extracted with the profile's
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
from tmiclnet.models.catalogue import ct_only_name
from tmiclnet.provenance import atomic_write_bytes

ROBUSTNESS_VERSION = "2"
DEFAULT_MODELS = ("tmiclnet_tokens", "tmiclnet_released", "early_fusion", "late_fusion", "ct_only")


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

    Used by notebook 10 (robustness).

    Args:
        conditions: the conditions to list; None: `default_conditions()`.
    """
    rows = [
        {
            "name": c.name,
            "drop": c.drop,
            "noise_hu": c.noise_hu,
            "scanner": c.scanner.name if c.scanner else None,
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


def applies(cond: Condition, modalities: tuple[str, ...]) -> bool:
    """A condition is meaningful for a model that reads the perturbed modality and keeps another."""
    if cond.drop is not None:
        return cond.drop in modalities and len(modalities) > 1
    if cond.scanner is not None:
        return "ct" in modalities or "radiomics" in modalities
    if cond.noise_hu > 0:
        return "ct" in modalities
    return True


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

    h = hashlib.sha256(ROBUSTNESS_VERSION.encode())
    h.update(json.dumps([asdict(c) for c in conditions]).encode() + str(seed).encode())
    h.update(json.dumps(folds).encode())
    if any(c.scanner for c in conditions):  # what the rescanned cohort and its radiomics depend on
        h.update(GENERATOR_VERSION.encode() + params_path(profile.radiomics_params).read_bytes())
        h.update((results_dir.parent / cohort / "cohort.json").read_bytes())
    for m in sorted(set(models) | {ct_only_name()}):
        for d in results.finished_folds(results_dir, cohort, m).values():
            h.update((d / "done.json").read_bytes())
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

    `folds`: evaluate the first that many folds only (None or 0: all), which bounds the cost of
    re-extracting radiomics for the external center. Returns DataFrame(model, fold, condition,
    auc, n); models without saved results are skipped.

    Used by notebook 10 (robustness).

    Args:
        data_dir: the run's data folder (``run.data_dir``): holds the cohort and `results/`.
        cohort_name: the cohort's name, e.g. ``pbc``.
        run: the notebook's `tmiclnet.config.Run`: its profile and device are used, its seed and
            profile are part of the cache key.
        models: catalogue names, as a list or one comma-separated string (as papermill passes it);
            models without saved results are skipped.
        conditions: the perturbations to apply; None: `default_conditions()`.
        folds: evaluate the first that many folds only; None or 0: all.
    """
    from sklearn.metrics import roc_auc_score

    data_dir = Path(data_dir)
    results_dir = data_dir / "results"
    conditions = conditions or default_conditions()
    if isinstance(models, str):  # "a,b,c", as papermill passes it
        models = [m.strip() for m in models.split(",") if m.strip()]
    models = [m for m in models if results.finished_folds(results_dir, cohort_name, m)]
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
                if applies(c, mods):
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


def summary_table(df: pd.DataFrame) -> pd.DataFrame:
    """Models x conditions: mean test AUC over folds ('—' where a condition does not apply).

    Used by notebook 10 (robustness).

    Args:
        df: the (model, fold, condition, auc, n) table from `evaluate_robustness`.
    """
    order = [c.name for c in default_conditions() if c.name in set(df["condition"])]
    order += [c for c in df["condition"].unique() if c not in order]
    table = df.groupby(["model", "condition"])["auc"].mean().unstack("condition")
    return table.reindex(columns=order).round(3)


def drop_table(df: pd.DataFrame) -> pd.DataFrame:
    """AUC change against the unperturbed model, per model and condition (mean over folds).

    Used by notebook 10 (robustness).

    Args:
        df: the (model, fold, condition, auc, n) table from `evaluate_robustness`.
    """
    base = df[df["condition"] == "none"].set_index(["model", "fold"])["auc"]
    d = df.join(base.rename("base"), on=["model", "fold"])
    d["change"] = d["auc"] - d["base"]
    return summary_table(d.drop(columns="auc").rename(columns={"change": "auc"})).drop(
        columns="none"
    )
