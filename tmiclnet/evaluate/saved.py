"""Saved fold models back in memory: a fold's inputs (scaled as in training) and its checkpoints.

Robustness and interpretation need the trained networks, not only their predictions. A
`SavedFold` re-assembles the fold's inputs with the trainer's own code (`tmiclnet.inputs.features`,
so radiomics are scaled on the same training rows) and rebuilds any model of that fold with the
results store (`tmiclnet.results.load_model`). Nothing is trained here. Used by the robustness and
interpretation pages (notebooks 12 and 13).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import torch

from tmiclnet import results
from tmiclnet.batch import MODALITIES, Batch
from tmiclnet.models.catalogue import ct_only_name


class OpenedCohort(NamedTuple):
    """A trained cohort's data, read once and shared by its folds."""

    cohort: object  # tmiclnet.data.cohort.Cohort
    inputs: object  # tmiclnet.inputs.features.CohortInputs of every patient
    folds: pd.DataFrame  # folds.csv


def open_inputs(data_dir: str | Path, cohort_name: str, run) -> OpenedCohort:
    """The cohort, every patient's inputs (from the caches) and the folds table of a trained cohort.

    Args:
        data_dir: the folder holding the cohort and its `results/`.
        cohort_name: the cohort's folder name.
        run: the notebook's `tmiclnet.config.Run` (its profile shapes the inputs).
    """
    from tmiclnet.data.cohort import load
    from tmiclnet.inputs.features import load_inputs

    cohort = load(Path(data_dir) / cohort_name)
    inputs = load_inputs(cohort, run.profile, set(MODALITIES))
    return OpenedCohort(
        cohort, inputs, results.read_folds(results.results_root(data_dir), cohort_name)
    )


@dataclass
class SavedFold:
    """One fold: its test patients' inputs and the saved models of that fold."""

    fold: int
    results_dir: Path
    cohort: str
    fin: object  # tmiclnet.inputs.features.FoldInputs
    test: object  # TensorData of the test patients (CT as volumes)
    device: torch.device
    _models: dict = field(default_factory=dict)
    _tokens: list = field(default_factory=list)  # [(CT volumes tensor, its CT tokens)], by identity

    def ct_tokens(self, ct: torch.Tensor) -> torch.Tensor:
        """CT tokens of `ct` from the fold's CT-only encoder, computed once per volumes tensor."""
        from tmiclnet.train.ct_tokens import extract_ct_tokens

        for volumes, tokens in self._tokens:
            if volumes is ct:
                return tokens
        tokens = extract_ct_tokens(self.model(ct_only_name())[0], ct, self.device)
        self._tokens = [*self._tokens[-7:], (ct, tokens)]
        return tokens

    def model(self, name: str):
        """(model, build config) of this fold, loaded once."""
        if name not in self._models:
            folder = results.finished_folds(self.results_dir, self.cohort, name).get(self.fold)
            if folder is None:
                raise FileNotFoundError(
                    f"{self.results_dir / self.cohort / name}: fold {self.fold} not trained"
                )
            self._models[name] = results.load_model(folder, self.device)
        return self._models[name]

    def has(self, name: str) -> bool:
        return self.fold in results.finished_folds(self.results_dir, self.cohort, name)

    def model_batch(self, name: str, inputs: dict | None = None) -> Batch:
        """The batch `name` reads (CT tokens from the fold's CT-only encoder when it uses them)."""
        from tmiclnet.inputs.tensors import TensorData

        model, config = self.model(name)
        inputs = self.test.inputs if inputs is None else inputs
        n = inputs["present"].shape[0]
        data = TensorData(
            [str(i) for i in range(n)], dict(inputs), torch.zeros(n, dtype=torch.long)
        )
        tokens = None
        if config.get("use_ct_tokens") and "ct" in model.modalities:
            tokens = self.ct_tokens(inputs["ct"])
        return data.for_model(tuple(model.modalities), tokens).batch(torch.arange(n), self.device)

    def probs(self, name: str, inputs: dict | None = None) -> torch.Tensor:
        """P(label = 1) of the test patients (or of `inputs`) under model `name`."""
        model, _ = self.model(name)
        with torch.no_grad():
            logits = model(self.model_batch(name, inputs))["logits"].float()
        return torch.softmax(logits, dim=1)[:, 1].cpu()

    def patient_inputs(self, patient: int) -> dict:
        """One test patient's inputs as a batch of one: what occlusion and attributions perturb.

        Args:
            patient: row of the patient among the fold's test patients (0-based).
        """
        return take_rows(self.test.inputs, patient, patient + 1)

    @property
    def labels(self) -> pd.Series:
        return pd.Series(self.test.labels.numpy(), index=self.test.ids)


def take_rows(inputs: dict, start: int, stop: int) -> dict:
    """Rows start:stop of every input tensor (nested dicts too, as a fine-tuned note's ids).

    Args:
        inputs: model inputs by key.
        start: first row.
        stop: one past the last row.
    """
    return {
        k: (take_rows(v, start, stop) if isinstance(v, dict) else v[start:stop])
        for k, v in inputs.items()
    }


def repeat_rows(value, n: int):
    """A one-patient input (a tensor, or a dict of them) repeated `n` times along the batch, so
    that many perturbed copies of one patient go through the model in one pass.

    Args:
        value: a tensor whose first dimension is the batch, or a dict of such tensors.
        n: copies.
    """
    if isinstance(value, dict):
        return {k: repeat_rows(x, n) for k, x in value.items()}
    return value.repeat(n, *([1] * (value.dim() - 1)))


def saved_fold(
    data_dir: str | Path, cohort_name: str, run, fold: int, opened: OpenedCohort | None = None
) -> SavedFold:
    """The fold's inputs (scaled on its training rows) and access to its saved models.

    Args:
        data_dir: the folder holding the cohort and its `results/`.
        cohort_name: the cohort's folder name.
        run: the notebook's `tmiclnet.config.Run`.
        fold: the fold index.
        opened: the cohort already read by `open_inputs` (to share it between folds).
    """
    from tmiclnet.inputs import folds as folds_mod
    from tmiclnet.inputs.features import fold_inputs

    opened = opened or open_inputs(data_dir, cohort_name, run)
    split = folds_mod.split(opened.folds, int(fold), run.profile.val_fraction, run.seed)
    fin = fold_inputs(opened.inputs, split, run.profile)
    test = fin.data.subset(split.test)
    return SavedFold(int(fold), results.results_root(data_dir), cohort_name, fin, test, run.device)
