"""Robustness of trained models at test time: a modality missing, noisier CT, another scanner.

Nothing is retrained: each fold's saved checkpoint is rebuilt and asked to predict its own test
patients under a perturbation, and the AUC is compared with the unperturbed one.

- `drop_<modality>`: the modality is marked absent (`present` False), as if the patient had no
  CT / no radiomics / no note; models are built to skip absent modalities, never to see zeros.
- `ct_noise_<HU>`: Gaussian noise of that many HU added to the CT volumes.
- `external`: another center's scanner. The renderer (`tmiclnet.data.render`) has no scanner
  parameter (its noise level is a module constant), so the already rendered volumes are degraded
  instead, with MONAI: resampled down by `factor` in every axis and back (a coarser scanner), plus
  extra noise. Radiomics stay those of the original scans (re-extracting them per condition costs
  minutes on a CPU): the condition tests what the network makes of a different-looking image.

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

from tmiclnet.evaluate import results as res
from tmiclnet.evaluate import saved
from tmiclnet.provenance import atomic_write_bytes

MODALITIES = ("ct", "radiomics", "text")
ROBUSTNESS_VERSION = "1"
DEFAULT_MODELS = ("tmiclnet_tokens", "tmiclnet_released", "early_fusion", "late_fusion", "ct_only")


@dataclass(frozen=True)
class Condition:
    """One test-time perturbation."""

    name: str
    drop: str | None = None  # modality marked absent
    noise_hu: float = 0.0  # extra Gaussian noise, HU
    factor: float = 1.0  # resolution loss: downsample by this factor, then back


def default_conditions() -> list[Condition]:
    return [Condition("none"), *(Condition(f"drop_{m}", drop=m) for m in MODALITIES),
            *(Condition(f"ct_noise_{h}HU", noise_hu=h) for h in (10, 25, 50)),
            Condition("external", noise_hu=20, factor=2.0)]


def window_width_hu() -> float:
    """HU per unit of the [0, 1] CT intensities (the dataset's liver window)."""
    from tmiclnet.data.dataset import WINDOW_HU

    return float(WINDOW_HU[1] - WINDOW_HU[0])


def add_noise(ct: torch.Tensor, noise_hu: float, seed: int) -> torch.Tensor:
    """`ct` (N,1,D,H,W in [0,1]) plus Gaussian noise of `noise_hu` HU, clipped back to the window."""
    if noise_hu <= 0:
        return ct
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(ct.shape, generator=g, dtype=torch.float32) * (noise_hu / window_width_hu())
    return (ct + noise).clamp(0.0, 1.0)


def resample_down_up(ct: torch.Tensor, factor: float) -> torch.Tensor:
    """Each volume resized to 1/factor of its grid and back (MONAI Resize, trilinear, anti-aliased)."""
    if factor == 1.0:
        return ct
    from monai.transforms import Resize

    shape = tuple(ct.shape[2:])
    small = tuple(max(2, int(round(s / factor))) for s in shape)
    down = Resize(small, mode="trilinear", anti_aliasing=True)
    up = Resize(shape, mode="trilinear")
    return torch.stack([torch.as_tensor(up(down(v))) for v in ct]).float()


def perturb(inputs: dict, cond: Condition, seed: int) -> dict:
    """A copy of model inputs (keys as in a model batch, CT as volumes) under `cond`."""
    out = dict(inputs)
    if cond.drop is not None:
        present = out["present"].clone()
        present[:, MODALITIES.index(cond.drop)] = False
        out["present"] = present
    if "ct" in out and (cond.noise_hu > 0 or cond.factor != 1.0):
        out["ct"] = add_noise(resample_down_up(out["ct"], cond.factor), cond.noise_hu, seed)
    return out


def applies(cond: Condition, modalities: tuple[str, ...]) -> bool:
    """A condition is meaningful for a model that reads the perturbed modality and keeps another."""
    if cond.drop is not None:
        return cond.drop in modalities and len(modalities) > 1
    if cond.noise_hu > 0 or cond.factor != 1.0:
        return "ct" in modalities
    return True


def _key(results_dir: Path, cohort: str, models, conditions, seed: int) -> str:
    h = hashlib.sha256(ROBUSTNESS_VERSION.encode())
    h.update(json.dumps([asdict(c) for c in conditions]).encode() + str(seed).encode())
    for m in sorted(set(models) | {saved.ct_only_name()}):
        for d in res.fold_dirs(results_dir, cohort, m).values():
            h.update((d / "done.json").read_bytes())
    return h.hexdigest()[:16]


def evaluate_robustness(data_dir: str | Path, cohort_name: str, run, models=DEFAULT_MODELS,
                        conditions: list[Condition] | None = None) -> pd.DataFrame:
    """AUC of each (model, fold, condition) on the fold's test patients, cached by content.

    Returns DataFrame(model, fold, condition, auc, n); models without saved results are skipped."""
    from sklearn.metrics import roc_auc_score

    data_dir = Path(data_dir)
    results_dir = data_dir / "results"
    conditions = conditions or default_conditions()
    if isinstance(models, str):  # "a,b,c", as papermill passes it
        models = [m.strip() for m in models.split(",") if m.strip()]
    models = [m for m in models if res.fold_dirs(results_dir, cohort_name, m)]
    if not models:
        raise FileNotFoundError(f"{results_dir / cohort_name}: none of the models has saved results")
    key = _key(results_dir, cohort_name, models, conditions, run.seed)
    cache = results_dir / cohort_name / "robustness" / f"{key}.csv"
    if cache.exists():
        return pd.read_csv(cache)
    opened = saved.open_inputs(data_dir, cohort_name, run)
    rows = []
    for k in sorted(opened[2]["fold"].unique()):
        fold = saved.saved_fold(data_dir, cohort_name, run, int(k), opened)
        y = fold.test.labels.numpy()
        perturbed = {c.name: perturb(fold.test.inputs, c, run.seed + int(k)) for c in conditions}
        for name in models:
            if not fold.has(name):
                continue
            mods = tuple(fold.model(name)[0].modalities)
            for c in conditions:
                if applies(c, mods):
                    p = fold.probs(name, perturbed[c.name]).numpy()
                    rows.append({"model": name, "fold": int(k), "condition": c.name,
                                 "auc": float(roc_auc_score(y, p)), "n": len(y)})
    out = pd.DataFrame(rows)
    atomic_write_bytes(cache, out.to_csv(index=False).encode())
    return out


def summary_table(df: pd.DataFrame) -> pd.DataFrame:
    """Models x conditions: mean test AUC over folds ('—' where a condition does not apply)."""
    order = [c.name for c in default_conditions() if c.name in set(df["condition"])]
    order += [c for c in df["condition"].unique() if c not in order]
    table = df.groupby(["model", "condition"])["auc"].mean().unstack("condition")
    return table.reindex(columns=order).round(3)


def drop_table(df: pd.DataFrame) -> pd.DataFrame:
    """AUC change against the unperturbed model, per model and condition (mean over folds)."""
    base = df[df["condition"] == "none"].set_index(["model", "fold"])["auc"]
    d = df.join(base.rename("base"), on=["model", "fold"])
    d["change"] = d["auc"] - d["base"]
    return summary_table(d.drop(columns="auc").rename(columns={"change": "auc"})).drop(columns="none")
