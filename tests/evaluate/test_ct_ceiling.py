"""The CT-only model against its image ceiling: the share, the sd ratio and the sentence agree."""

import numpy as np
import pandas as pd
import pytest

from tmiclnet.evaluate import ct_ceiling
from tmiclnet.evaluate.metrics import auc_sampling_sd
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


def test_sampling_spreads_a_weak_ranking_more_than_a_strong_one():
    rng = np.random.default_rng(1)
    label = np.repeat([1, 0], [25, 37])  # a test fold of the PBC cohort's size
    weak = label * 0.4 + rng.normal(0, 1, len(label))  # AUC near 0.6
    strong = label * 1.6 + rng.normal(0, 1, len(label))  # AUC near 0.85
    assert auc_sampling_sd(label, weak) > 1.2 * auc_sampling_sd(label, strong)
    big = np.repeat([1, 0], [250, 370])
    weak_big = big * 0.4 + rng.normal(0, 1, len(big))
    # ten times the patients, about a third of the spread (1 / sqrt(10))
    assert auc_sampling_sd(big, weak_big) == pytest.approx(
        auc_sampling_sd(label, weak) / 10**0.5, rel=0.3
    )


def test_the_spread_is_read_against_what_sampling_gives_each_model():
    ct = [0.60, 0.72, 0.66, 0.55, 0.70] * 3
    ceiling = [0.80, 0.84, 0.79, 0.76, 0.81] * 3
    rep = report(ct, ceiling)
    plain = ct_ceiling.reading(rep)
    assert plain.sd_ratio > ct_ceiling.NOISE_LIMIT and plain.noise_ratio == plain.sd_ratio
    assert "adds noise of its own" in ct_ceiling.sentence(plain)
    sd = float(np.std(ct, ddof=1))
    r = ct_ceiling.reading(rep, {"ct_only": sd / 1.1, "logreg_image_fields": 0.030})
    assert r.sampling_ratio == pytest.approx(sd / 1.1 / 0.030)
    assert r.over_sampling == pytest.approx(1.1) and r.noise_ratio == pytest.approx(1.1)
    assert r.ceiling_over_sampling == pytest.approx(float(np.std(ceiling, ddof=1)) / 0.030)
    text = ct_ceiling.sentence(r)
    assert f"{r.sd_ratio:.2f}" in text and f"{r.sampling_ratio:.2f}" in text and "1.10" in text
    assert "adds little noise" in text
    loud = ct_ceiling.reading(rep, {"ct_only": sd / 1.4, "logreg_image_fields": 0.030})
    assert "adds noise of its own" in ct_ceiling.sentence(loud)
    table = ct_ceiling.table([r])
    assert table.loc["CT-only sd / sampling sd", "pbc"] == "1.10"
