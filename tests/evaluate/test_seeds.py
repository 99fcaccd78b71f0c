"""The run-to-run table: the sd over seeds within a fold beside the sd over folds."""

from __future__ import annotations

import numpy as np
import pytest

from tests.evaluate.fakes import fake_results
from tmiclnet.evaluate import seeds


def test_seed_spread_is_the_sd_over_seeds_within_a_fold(tmp_path) -> None:
    stores = {}
    for s in range(3):
        stores[s] = tmp_path / f"seed{s}"
        fake_results(stores[s], "toy", ("a", "b"), n=40, folds=4, seed=s)  # other noise per seed
    aucs = seeds.seed_aucs(stores, "toy", ["a", "b"], [0, 1])
    assert len(aucs) == 3 * 2 * 2
    table = seeds.spread_table(aucs, stores[0], "toy")
    a = aucs[aucs["model"] == "a"].pivot(index="seed", columns="fold", values="auc")
    want = np.sqrt(a.var(ddof=1).mean())  # per fold over seeds, pooled over folds
    assert table.loc["a", "sd_seeds"] == pytest.approx(want)
    assert table.loc["a", "max_gap"] == pytest.approx((a.max() - a.min()).max())
    assert table.loc["a", "main_folds"] == 4  # the sd over folds reads every fold of seed 0
    assert table.loc["a", "mean_move"] == pytest.approx(want / 2)
    text = seeds.summary(table)
    assert f"sd of {want:.3f}" in text and "**b**" in text
    assert list(seeds.display_table(table).columns) == ["a", "b"]
    with pytest.raises(FileNotFoundError, match="no finished fold"):
        seeds.seed_aucs(stores, "toy", ["a"], [0, 7])
