"""The CT-only model against its image ceiling: the share, the sd ratio and the sentence agree."""

import numpy as np
import pandas as pd
import pytest

from tmiclnet.evaluate import ct_ceiling
from tmiclnet.evaluate.repeats import RepeatReport


def report(ct, ceiling, ratio=0.3125):
    rows = []
    for i, (a, b) in enumerate(zip(ct, ceiling)):
        r, k = divmod(i, 5)
        rows += [(r, k, "ct_only", a), (r, k, "logreg_image_fields", b)]
    aucs = pd.DataFrame(rows, columns=["repeat", "fold", "model", "auc"])
    return RepeatReport("pbc", [0, 1, 2], 5, ratio, aucs, pd.DataFrame(), pd.DataFrame())


def test_share_and_ratio_from_the_folds():
    rng = np.random.default_rng(0)
    ceiling = 0.8 + rng.normal(0, 0.04, 15)
    ct = 0.7 + rng.normal(0, 0.06, 15)
    r = ct_ceiling.reading(report(ct, ceiling))
    assert r.folds == 15
    assert r.auc == pytest.approx(ct.mean())
    assert r.share == pytest.approx((ct.mean() - 0.5) / (ceiling.mean() - 0.5))
    assert r.sd_ratio == pytest.approx(ct.std(ddof=1) / ceiling.std(ddof=1))
    assert r.low < r.auc < r.high
    assert r.gap == pytest.approx((ceiling - ct).mean())


def test_sentence_states_the_reading():
    ct = [0.70, 0.75, 0.72, 0.68, 0.71] * 3
    r = ct_ceiling.reading(report(ct, [0.80, 0.82, 0.79, 0.81, 0.78] * 3))
    text = ct_ceiling.sentence(r)
    assert f"{r.auc:.3f}" in text and f"{r.share:.0%}" in text
    assert "training adds noise" in text  # the ct folds spread more than 1.25x the ceiling's
    table = ct_ceiling.table([r])
    assert table.loc["share of ceiling", "pbc"] == f"{r.share:.2f}"


def test_missing_ceiling_is_named():
    rep = report([0.7] * 15, [0.8] * 15)
    rep.aucs = rep.aucs[rep.aucs.model == "ct_only"]
    with pytest.raises(ValueError, match="logreg_image_fields"):
        ct_ceiling.reading(rep)
