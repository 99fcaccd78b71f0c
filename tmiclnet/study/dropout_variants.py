"""The robustness page's modality-dropout variants, trained on demand before it reads them.

The variants (`tmiclnet.models.catalogue.DROPOUT_VARIANTS`) are the only models that learned to
predict without a modality, so the page needs them trained; the training page does not train
them. Training lives here, above evaluation, so that `tmiclnet.evaluate` only ever reads saved
folds: the variants go through the training page's own path (`tmiclnet.train.cv.run_cv`: the
same folds, CT-only encoders, keys and results store), and a finished fold is read, not retrained.
"""

from __future__ import annotations

from pathlib import Path

from tmiclnet.evaluate.robustness.missing import modality_dropout_of, model_names
from tmiclnet.train.cv import run_cv


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
    names = [m for m in model_names(models) if modality_dropout_of(m) > 0]
    if names:
        run_cv(Path(data_dir) / cohort_name, names, run)
    return names
