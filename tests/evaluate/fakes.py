"""A results folder in the trainer's layout, without training: the evaluation tests' input."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tmiclnet import results


def fake_results(root, cohort="toy", models=("a", "b"), n=40, folds=2, seed=0) -> None:
    """A tiny results folder in the trainer's layout (the tests' stand-in for trained models)."""
    rng = np.random.default_rng(seed)
    ids = [f"p{i:03d}" for i in range(n)]
    label = np.tile([0, 1], n // 2)
    fold = np.repeat(np.arange(folds), n // folds)
    (root / cohort).mkdir(parents=True)
    pd.DataFrame({"id": ids, "label": label, "fold": fold}).to_csv(
        root / cohort / "folds.csv", index=False
    )
    for j, m in enumerate(models):
        for k in range(folds):
            sel = fold == k
            prob = 1 / (1 + np.exp(-(label[sel] * (2 - j) + rng.normal(size=sel.sum()))))
            pred = pd.DataFrame(
                {"id": np.array(ids)[sel], "label": label[sel], "prob": prob, "split": "test"}
            )
            folder = results.fold_dir(root, cohort, m, k)
            results.write_fold(folder, pred, {"threshold": 0.5}, {"model": m})
            pd.DataFrame(
                {
                    "epoch": [1, 2, 3],
                    "train_loss": [0.7, 0.6, 0.5],
                    "val_loss": [0.7, 0.65, 0.6],
                    "val_auc": [0.6, 0.7, 0.75],
                }
            ).to_csv(root / cohort / m / f"fold{k}" / "history.csv", index=False)
