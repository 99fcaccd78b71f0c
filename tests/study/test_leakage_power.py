"""The leakage study with power: its fits are the training page's, its control is stop on test's
own run, and its intervals are the t across labellings and the corrected t across repeats."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tests.train.tiny import labels_of, radiomics_inputs, small_run
from tmiclnet import results
from tmiclnet.study.leakage import power, protocols, replicates, training

MODEL = "radiomics_only"
RUN = {"batch_size": 16, "n_jobs": 1, "epochs": 3}
pytestmark = pytest.mark.usefixtures("one_thread")
STOP, CONTROL = protocols.BY_NAME["stop on test"], protocols.FIXED_EPOCHS


def _task(kind: str, protos: tuple, r: int = 0) -> replicates.Task:
    return replicates.Task(MODEL, kind, r, protos)


def test_ours_is_the_training_page_fold_bit_for_bit(tmp_path) -> None:
    inputs, run = radiomics_inputs(60, 0, per_family=4), small_run(tmp_path, **RUN)
    store = training.study_dir(tmp_path, None, protocols.OURS)
    training.train_protocol(inputs, "syn", labels_of(inputs), [MODEL], run, store, protocols.OURS)
    page = results.load_predictions(store, "syn", MODEL).query("split == 'test'")
    preds, audit = replicates.run_task(
        _task("real", (protocols.OURS,)), inputs, labels_of(inputs), run
    )
    page = page.set_index("id").loc[preds["id"]]
    assert np.allclose(preds["prob"].to_numpy(), page["prob"].to_numpy(), rtol=0, atol=1e-7)
    assert np.allclose(preds["threshold"].to_numpy(), page["threshold"].to_numpy(), atol=1e-7)
    assert (audit[["scaler_saw_test", "stopping_read_test"]] == 0).all().all()


def test_the_control_is_stop_on_tests_run_with_its_last_epoch(tmp_path) -> None:
    inputs, run = radiomics_inputs(60, 1, per_family=4), small_run(tmp_path, **RUN)
    labels = labels_of(inputs)
    assert replicates.shares_fit(CONTROL, STOP)
    assert not replicates.shares_fit(CONTROL, protocols.BY_NAME["released"])  # other folds
    both, audit = replicates.run_task(_task("permuted", (STOP, CONTROL)), inputs, labels, run)
    alone, _ = replicates.run_task(_task("permuted", (CONTROL,)), inputs, labels, run)
    shared = both[both["protocol"] == CONTROL.name].reset_index(drop=True)
    pd.testing.assert_frame_equal(shared, alone.reset_index(drop=True))  # bit for bit
    assert (shared["best_epoch"] == RUN["epochs"] - 1).all()  # the last epoch, every fold
    a = audit.set_index("protocol")
    assert (a.loc[CONTROL.name, "stopping_read_test"] == 0).all()  # no test patient read
    assert (a.loc[STOP.name, "stopping_read_test"] == a.loc[STOP.name, "n_test"]).all()
    cfg = replicates.protocol_config(MODEL, run, 0, STOP)
    assert cfg.patience == protocols.RELEASE_PATIENCE


def test_each_replicate_has_its_own_labels_seed_and_key(tmp_path) -> None:
    inputs, run = radiomics_inputs(60, 0, per_family=4), small_run(tmp_path, **RUN)
    labels = labels_of(inputs)
    assert replicates.replicate_labels(labels, "real", 3).equals(labels)
    one, two = (replicates.replicate_labels(labels, "permuted", r) for r in (1, 2))
    assert not one.equals(two) and one.sum() == labels.sum()
    assert [replicates.replicate_seed(7, "real", r) for r in (0, 2)] == [7, 9]  # repeats
    assert replicates.replicate_seed(7, "permuted", 2) == 7  # the labelling changes instead
    tasks = [
        _task(kind, protos, r)
        for kind in ("real", "permuted")
        for r in (0, 1)
        for protos in ((protocols.OURS,), (protocols.OURS, STOP))
    ]
    found = {replicates.task_key(t, inputs, labels, run) for t in tasks}
    assert len(found) == len(tasks)
    assert replicates.task_key(tasks[0], inputs, labels, run) == replicates.task_key(
        _task("real", (protocols.OURS,), 0), inputs, labels, run
    )


def _fake(kind_shift: dict[str, float], n_rep: int = 20, n: int = 100, folds: int = 5):
    """Predictions of `n_rep` replicates per kind: ours random, `leaky` = ours + a shift on the
    positives (the inflation), `same` = ours; every fold holds both classes."""
    rng = np.random.default_rng(0)
    rows = []
    for kind, shift in kind_shift.items():
        for r in range(n_rep):
            label = rng.permutation(np.tile([0, 1, 0, 0, 1], n // 5))
            fold = np.arange(n) % folds
            base = rng.random(n)
            for name, prob in (
                ("ours", base),
                ("leaky", (base + shift * label) / (1 + shift)),
                ("same", base),
            ):
                rows.append(
                    pd.DataFrame(
                        {
                            "id": [f"p{i}" for i in range(n)],
                            "label": label,
                            "prob": prob,
                            "fold": fold,
                            "threshold": 0.5,
                            "best_epoch": 0,
                            "protocol": name,
                            "model": MODEL,
                            "kind": kind,
                            "replicate": r,
                        }
                    )
                )
    preds = pd.concat(rows, ignore_index=True)
    audit = preds.groupby(["model", "kind", "replicate", "protocol", "fold"]).size()
    audit = audit.rename("n_test").reset_index()
    return replicates.Replicates("toy", preds, audit, 0)


def test_the_interval_across_labellings_is_a_t_interval() -> None:
    rep = _fake({"permuted": 0.3, "real": 0.3})
    table = power.inflation_table(rep, val_fraction=0.2)
    t = table.set_index(["kind", "protocol", "metric"])
    scores = power.replicate_scores(rep.predictions)
    perm = scores[scores["kind"] == "permuted"].pivot(
        index="replicate", columns="protocol", values="auc"
    )
    d = perm["leaky"] - perm["ours"]
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    row = t.loc[("permuted", "leaky", "auc")]
    assert row["inflation"] == pytest.approx(d.mean())
    assert row["lo"] == pytest.approx(d.mean() - half) and row["hi"] == pytest.approx(
        d.mean() + half
    )
    assert row["lo"] > 0 and row["interval"] == "t across 20 labellings"
    same = t.loc[("permuted", "same", "auc")]
    assert same["inflation"] == 0 and same["lo"] == 0 == same["hi"]
    # real labels: the corrected resampled t over the 20 x 5 fold differences, ours' fit ratio
    real = t.loc[("real", "leaky", "auc")]
    assert real["interval"] == "corrected t, 100 folds"
    ratio = power.fit_ratio_of(rep.predictions, rep.audit, 0.2)
    assert ratio == pytest.approx(20 / (80 * 0.8))  # n_test / n_fit, not n_test / n_train
    folds = power.fold_scores(rep.predictions).query("kind == 'real'")
    wide = folds.pivot_table(index=["replicate", "fold"], columns="protocol", values="auc")
    fd = wide["leaky"] - wide["ours"]
    width = 2 * stats.t.ppf(0.975, len(fd) - 1) * fd.std(ddof=1) * np.sqrt(1 / len(fd) + ratio)
    assert real["hi"] - real["lo"] == pytest.approx(width)
    assert real["hi"] - real["lo"] > 2 * stats.t.ppf(0.975, 99) * fd.std(ddof=1) / 10  # wider
    # the pooled AUC has one value per repeat: a t across repeats, marked as such
    assert t.loc[("real", "leaky", "pooled_auc"), "interval"] == "t across 20 repeats"


def test_ours_null_interval_and_prose_read_off_the_table() -> None:
    rep = _fake({"permuted": 0.0})
    m, lo, hi = power.ours_interval(rep, "permuted")
    assert lo < m < hi and abs(m - 0.5) < 0.03  # random scores: AUC 0.5 up to noise
    table = power.inflation_table(rep)
    text = power.takeaways(table, (m, lo, hi))
    row = table.set_index(["protocol", "metric"]).loc[("leaky", "auc")]
    assert f"AUC {row['inflation']:+.3f} [{row['lo']:+.3f}, {row['hi']:+.3f}]" in text
    assert f"{m:.3f} [{lo:.3f}, {hi:.3f}] against 0.5" in text
    shown = power.format_table(table, "permuted")
    auc = shown.xs("AUC", level="metric")  # a row per metric and protocol, the primary first
    assert list(auc.index.get_level_values("protocol")) == ["ours", "leaky", "same"]
    assert list(dict.fromkeys(shown.index.get_level_values("metric"))) == [
        "AUC",
        "pooled AUC",
        "accuracy",
        "F1",
    ]
    leaky = auc.xs("leaky", level="protocol").iloc[0]
    assert leaky["Δ vs ours [95% CI]"] == (
        f"{row['inflation']:+.3f} [{row['lo']:+.3f}, {row['hi']:+.3f}]"
    )
    assert auc.xs("ours", level="protocol").iloc[0]["Δ vs ours [95% CI]"] == ""


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--labellings", "1"], "--labellings 1: an interval needs at least 2"),
        (["--labellings", "3", "--permute-labels", "0"], "give one of them"),
    ],
)
def test_cli_bad_labellings_is_one_line(tmp_path, args, needle, capsys) -> None:
    from tmiclnet.__main__ import main

    assert main(["study", "leakage", "--cohort", str(tmp_path), *args]) != 0
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1 and "Traceback" not in err
