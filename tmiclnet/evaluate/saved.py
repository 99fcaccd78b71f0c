"""Saved fold models back in memory: a fold's inputs (scaled as in training) and its checkpoints.

Robustness and interpretation need the trained networks, not only their predictions. A
`SavedFold` re-assembles the fold's inputs with the trainer's own code (`tmiclnet.train.features`,
so radiomics are scaled on the same training rows) and rebuilds any model of that fold from its
`checkpoint.pt` (catalogue name, build config, best weights). Nothing is trained here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch

from tmiclnet.evaluate import results as res

MODALITIES = ("ct", "radiomics", "text")


def load_fold_model(folder: Path, device: torch.device):
    """Rebuild a fold's model from checkpoint.pt; returns (model in eval mode, build config)."""
    from tmiclnet.models import build

    path = Path(folder) / "checkpoint.pt"
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing; train the model first")
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    missing = {"model_name", "build_config", "model"} - set(ckpt)
    if missing:
        raise ValueError(
            f"{path}: keys {sorted(missing)} missing; the fold did not finish training"
        )
    model = build(ckpt["model_name"], **ckpt["build_config"])
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as err:
        raise RuntimeError(
            f"{path}: the saved weights do not fit the current code of model "
            f"{ckpt['model_name']!r} (the model changed since training); retrain it "
            f"(python -m tmiclnet train --model {ckpt['model_name']} --retrain ...)"
        ) from err
    return model.to(device).eval(), ckpt["build_config"]


def ct_only_name() -> str:
    """The catalogue's CT-only model, whose encoder makes the cached CT tokens."""
    from tmiclnet.models import catalogue

    table = catalogue()
    return str(table.loc[table["modalities"] == "ct", "name"].iloc[0])


def open_inputs(data_dir: str | Path, cohort_name: str, run):
    """(cohort, every patient's inputs, folds table) of a trained cohort (inputs come from caches)."""
    from tmiclnet.data.cohort import load
    from tmiclnet.train.features import load_inputs

    cohort = load(Path(data_dir) / cohort_name)
    inputs = load_inputs(cohort, run.profile, set(MODALITIES), Path(data_dir) / "cache")
    return cohort, inputs, res.read_folds(Path(data_dir) / "results", cohort_name)


@dataclass
class SavedFold:
    """One fold: its test patients' inputs and the saved models of that fold."""

    fold: int
    results_dir: Path
    cohort: str
    fin: object  # tmiclnet.train.features.FoldInputs
    test: object  # TensorData of the test patients (CT as volumes)
    device: torch.device
    _models: dict = field(default_factory=dict)
    _tokens: list = field(default_factory=list)  # [(CT volumes tensor, its CT tokens)], by identity

    def ct_tokens(self, ct: torch.Tensor) -> torch.Tensor:
        """CT tokens of `ct` from the fold's CT-only encoder, computed once per volumes tensor."""
        from tmiclnet.train.cv import extract_ct_tokens

        for volumes, tokens in self._tokens:
            if volumes is ct:
                return tokens
        tokens = extract_ct_tokens(self.model(ct_only_name())[0], ct, self.device)
        self._tokens = [*self._tokens[-7:], (ct, tokens)]
        return tokens

    def model(self, name: str):
        """(model, build config) of this fold, loaded once."""
        if name not in self._models:
            folder = res.fold_dirs(self.results_dir, self.cohort, name).get(self.fold)
            if folder is None:
                raise FileNotFoundError(
                    f"{self.results_dir / self.cohort / name}: fold {self.fold} not trained"
                )
            self._models[name] = load_fold_model(folder, self.device)
        return self._models[name]

    def has(self, name: str) -> bool:
        return self.fold in res.fold_dirs(self.results_dir, self.cohort, name)

    def model_batch(self, name: str, inputs: dict | None = None, ids=None) -> dict:
        """The batch `name` reads (CT tokens made by the fold's CT-only encoder when it uses them)."""
        from tmiclnet.train.cv import model_inputs
        from tmiclnet.train.tensors import TensorData

        model, config = self.model(name)
        inputs = self.test.inputs if inputs is None else inputs
        n = next(v for k, v in inputs.items() if k == "present").shape[0]
        labels = torch.zeros(n, dtype=torch.long)
        data = TensorData([str(i) for i in range(n)], dict(inputs), labels)
        tokens = None
        if config.get("use_ct_tokens") and "ct" in model.modalities:
            tokens = self.ct_tokens(inputs["ct"])
        x = model_inputs(data, tuple(model.modalities), tokens)
        return x.batch(torch.arange(n), self.device)

    def probs(self, name: str, inputs: dict | None = None) -> torch.Tensor:
        """P(label = 1) of the test patients (or of `inputs`) under model `name`."""
        model, _ = self.model(name)
        with torch.no_grad():
            logits = model(self.model_batch(name, inputs))["logits"].float()
        return torch.softmax(logits, dim=1)[:, 1].cpu()

    @property
    def labels(self) -> pd.Series:
        return pd.Series(self.test.labels.numpy(), index=self.test.ids)


def saved_fold(data_dir: str | Path, cohort_name: str, run, fold: int, opened=None) -> SavedFold:
    """The fold's inputs (scaled on its training rows) and access to its saved models."""
    from tmiclnet.train import folds as folds_mod
    from tmiclnet.train.features import fold_inputs

    _, inputs, table = opened or open_inputs(data_dir, cohort_name, run)
    split = folds_mod.split(table, int(fold), run.profile.val_fraction, run.seed)
    fin = fold_inputs(inputs, split, run.profile)
    return SavedFold(
        int(fold),
        Path(data_dir) / "results",
        cohort_name,
        fin,
        fin.data.subset(split.test),
        run.device,
    )
