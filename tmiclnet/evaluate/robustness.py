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
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from tmiclnet.evaluate import results as res
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


# ----------------------------------------------------------------- saved fold models
def load_fold_model(folder: Path, device: torch.device):
    """Rebuild a fold's model from checkpoint.pt (catalogue name, build config, best weights)."""
    from tmiclnet.models import build

    ckpt = torch.load(Path(folder) / "checkpoint.pt", map_location="cpu", weights_only=False)
    missing = {"model_name", "build_config", "model"} - set(ckpt)
    if missing:
        raise ValueError(f"{folder / 'checkpoint.pt'}: keys {sorted(missing)} missing; "
                         "the fold did not finish training")
    model = build(ckpt["model_name"], **ckpt["build_config"])
    model.load_state_dict(ckpt["model"])
    return model.to(device).eval(), ckpt["build_config"]


def _ct_only_name() -> str:
    from tmiclnet.models import catalogue

    table = catalogue()
    return str(table.loc[table["modalities"] == "ct", "name"].iloc[0])


def _probs(model, inputs: dict, ids, labels, modalities, ct_model, use_tokens: bool, device) -> np.ndarray:
    from tmiclnet.train.cv import extract_ct_tokens, model_inputs
    from tmiclnet.train.tensors import TensorData
    from tmiclnet.train.trainer import predict, probabilities

    data = TensorData(list(ids), {k: v for k, v in inputs.items()}, labels)
    tokens = extract_ct_tokens(ct_model, inputs["ct"], device) if use_tokens else None
    return probabilities(predict(model, model_inputs(data, modalities, tokens), device))


def _key(results_dir: Path, cohort: str, models, conditions, seed: int) -> str:
    h = hashlib.sha256(ROBUSTNESS_VERSION.encode())
    h.update(json.dumps([asdict(c) for c in conditions]).encode() + str(seed).encode())
    for m in sorted(set(models) | {_ct_only_name()}):
        for d in res.fold_dirs(results_dir, cohort, m).values():
            h.update((d / "done.json").read_bytes())
    return h.hexdigest()[:16]


def evaluate_robustness(data_dir: str | Path, cohort_name: str, run, models=DEFAULT_MODELS,
                        conditions: list[Condition] | None = None) -> pd.DataFrame:
    """AUC of each (model, fold, condition) on the fold's test patients, cached by content.

    Returns DataFrame(model, fold, condition, auc, n); models without saved results are skipped."""
    from sklearn.metrics import roc_auc_score

    from tmiclnet.data.cohort import load
    from tmiclnet.train import folds as folds_mod
    from tmiclnet.train.features import fold_inputs, load_inputs

    data_dir = Path(data_dir)
    results_dir = data_dir / "results"
    conditions = conditions or default_conditions()
    models = [m for m in models if res.fold_dirs(results_dir, cohort_name, m)]
    if not models:
        raise FileNotFoundError(f"{results_dir / cohort_name}: none of the models has saved results")
    cache = results_dir / cohort_name / "robustness" / f"{_key(results_dir, cohort_name, models, conditions, run.seed)}.csv"
    if cache.exists():
        return pd.read_csv(cache)
    cohort = load(data_dir / cohort_name)
    inputs = load_inputs(cohort, run.profile, set(MODALITIES), data_dir / "cache")
    table = res.read_folds(results_dir, cohort_name)
    ct_name = _ct_only_name()
    rows = []
    for k in sorted(table["fold"].unique()):
        split = folds_mod.split(table, int(k), run.profile.val_fraction, run.seed)
        fin = fold_inputs(inputs, split, run.profile)
        test = fin.data.subset(split.test)
        y = test.labels.numpy()
        ct_dir = res.fold_dirs(results_dir, cohort_name, ct_name).get(int(k))
        ct_model = load_fold_model(ct_dir, run.device)[0] if ct_dir else None
        perturbed = {c.name: perturb(test.inputs, c, run.seed + int(k)) for c in conditions}
        for name in models:
            folder = res.fold_dirs(results_dir, cohort_name, name).get(int(k))
            if folder is None:
                continue
            model, config = load_fold_model(folder, run.device)
            mods = tuple(model.modalities)
            use_tokens = bool(config.get("use_ct_tokens")) and "ct" in mods
            for c in conditions:
                if not applies(c, mods):
                    continue
                p = _probs(model, perturbed[c.name], test.ids, test.labels, mods, ct_model, use_tokens,
                           run.device)
                rows.append({"model": name, "fold": int(k), "condition": c.name,
                             "auc": float(roc_auc_score(y, p)), "n": len(y)})
    out = pd.DataFrame(rows)
    buf = io.StringIO()
    out.to_csv(buf, index=False)
    atomic_write_bytes(cache, buf.getvalue().encode())
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
