"""The leakage study: the released protocol's scaler and early stopping see the test fold, ours
never do; folds, labels, keys, intervals and the command line."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from tests.train.tiny import labels_of, radiomics_inputs, small_run
from tmiclnet import keys, results
from tmiclnet.inputs.features import CohortInputs
from tmiclnet.study.leakage import assembly, protocols, tables, training
from tmiclnet.train import trainer

MODEL = "radiomics_only"
pytestmark = pytest.mark.usefixtures("one_thread")


# small_run's two folds of two epochs, on one worker: every fit runs in this process, where the
# spies are
RUN = {"batch_size": 16, "n_jobs": 1}


def _inputs(n: int = 60, seed: int = 0) -> CohortInputs:
    return radiomics_inputs(n, seed, per_family=4)


def _splits(inputs, run, protocol):
    folds = assembly.protocol_folds(labels_of(inputs), protocol, run.profile.folds, run.seed)
    return [
        assembly.protocol_split(folds, k, protocol, run.profile.val_fraction, run.seed)
        for k in range(run.profile.folds)
    ]


def test_released_scaler_saw_test_rows_ours_did_not(tmp_path, monkeypatch) -> None:
    from tmiclnet.radiomics import preprocess

    seen: list[list[str]] = []
    real_fit = preprocess.fit_fold

    def spy(table, labels, train_ids, *a, **kw):
        seen.append(list(train_ids))
        return real_fit(table, labels, train_ids, *a, **kw)

    monkeypatch.setattr(preprocess, "fit_fold", spy)
    inputs, run = _inputs(), small_run(tmp_path, **RUN)
    for protocol in protocols.PROTOCOLS:
        for split in _splits(inputs, run, protocol):
            seen.clear()
            _, recorded = assembly.protocol_fold_inputs(inputs, split, run, protocol)
            assert len(seen) == 1 and seen[0] == recorded  # the record is what the scaler saw
            test = set(split.test)
            if protocol.scaler_on_all:
                assert test <= set(seen[0]), protocol.name
            else:
                assert not test & set(seen[0]), protocol.name
                assert seen[0] == split.train


def test_released_stopping_read_the_test_fold_ours_did_not(tmp_path, monkeypatch) -> None:
    read: list[list[str]] = []
    real_validate = trainer._validate

    def spy(net, data, device, cfg):
        read.append(list(data.ids))
        return real_validate(net, data, device, cfg)

    monkeypatch.setattr(trainer, "_validate", spy)
    inputs, run = _inputs(), small_run(tmp_path, **RUN)
    for protocol in (
        protocols.OURS,
        protocols.BY_NAME["stop on test"],
        protocols.BY_NAME["released"],
    ):
        read.clear()
        out = training.study_dir(tmp_path, None, protocol)
        audit = training.train_protocol(
            inputs, "syn", labels_of(inputs), [MODEL], run, out, protocol
        )
        tests = [set(s.test) for s in _splits(inputs, run, protocol)]
        assert len(read) == run.profile.folds * run.profile.epochs  # one criterion per epoch
        for i, ids in enumerate(read):  # folds train in order here, one epoch after the other
            test = tests[i // run.profile.epochs]
            if protocol.stop_on_test:
                assert set(ids) == test, protocol.name  # the criterion WAS the test fold
            else:
                assert not set(ids) & test, protocol.name
        n_test = int(audit["n_test"].sum())
        assert int(audit["stopping_read_test"].sum()) == (n_test if protocol.stop_on_test else 0)
        assert int(audit["scaler_saw_test"].sum()) == (n_test if protocol.scaler_on_all else 0)


def test_ours_stopping_set_is_the_validation_split(tmp_path, monkeypatch) -> None:
    read: list[list[str]] = []
    real_validate = trainer._validate
    monkeypatch.setattr(
        trainer,
        "_validate",
        lambda n, d, dev, c: read.append(list(d.ids)) or real_validate(n, d, dev, c),
    )
    inputs, run = _inputs(), small_run(tmp_path, **RUN)
    training.train_protocol(
        inputs,
        "syn",
        labels_of(inputs),
        [MODEL],
        run,
        training.study_dir(tmp_path, None, protocols.OURS),
        protocols.OURS,
    )
    splits = _splits(inputs, run, protocols.OURS)
    assert {tuple(ids) for ids in read} == {tuple(s.val) for s in splits}
    for s in splits:
        assert not set(s.val) & set(s.test) and not set(s.train) & set(s.test)


def test_folds_stratified_or_kfold() -> None:
    from sklearn.model_selection import KFold

    labels = pd.Series([1] * 20 + [0] * 40, index=[f"p{i:03d}" for i in range(60)])
    ours = assembly.protocol_folds(labels, protocols.OURS, 5, 0)
    assert ours.groupby("fold")["label"].sum().tolist() == [4] * 5  # class balance kept
    loose = assembly.protocol_folds(labels, protocols.BY_NAME["unstratified"], 5, 0)
    order = labels.sort_index()
    for k, (_, idx) in enumerate(KFold(5, shuffle=True, random_state=0).split(order)):
        assert set(loose.loc[loose["fold"] == k, "id"]) == set(order.index[idx])
    assert sorted(loose["id"]) == sorted(labels.index)  # every patient tested once


def test_permuted_labels_keep_counts_and_are_seeded() -> None:
    labels = pd.Series([1] * 30 + [0] * 70, index=[f"p{i}" for i in range(100)])
    a, b = assembly.permute_labels(labels, 0), assembly.permute_labels(labels, 0)
    assert a.equals(b) and a.sum() == 30 and not a.equals(labels)
    assert not a.equals(assembly.permute_labels(labels, 1))


def test_results_kept_apart_and_keyed(tmp_path) -> None:
    inputs, run = _inputs(), small_run(tmp_path, **RUN)
    dirs = {training.study_dir(tmp_path, s, p) for s in (None, 0) for p in protocols.PROTOCOLS}
    assert len(dirs) == 2 * len(protocols.PROTOCOLS)
    out = tmp_path / "stores"
    keys = []
    for tag, labels in (
        ("real", labels_of(inputs)),
        ("perm", assembly.permute_labels(labels_of(inputs), 0)),
    ):
        for protocol in (
            protocols.OURS,
            protocols.BY_NAME["scaler on all"],
        ):  # same folds: only keys differ
            store = out / tag / protocol.name.replace(" ", "_")
            training.train_protocol(inputs, "syn", labels, [MODEL], run, store, protocol)
            done = results.read_json(results.fold_dir(store, "syn", MODEL, 0) / "done.json")
            keys.append(done["config_hash"])
    assert len(set(keys)) == 4  # protocol and labels are both in every key
    # an unchanged rerun reads its results: the fold keeps its done.json untouched
    store = out / "real" / "ours"
    before = (results.fold_dir(store, "syn", MODEL, 0) / "done.json").stat().st_mtime_ns
    training.train_protocol(inputs, "syn", labels_of(inputs), [MODEL], run, store, protocols.OURS)
    after = (results.fold_dir(store, "syn", MODEL, 0) / "done.json").stat().st_mtime_ns
    assert before == after


@pytest.fixture
def package_copy(tmp_path):
    """A copy of the package to edit; its untouched assembly hashes as the installed one."""
    copy = tmp_path / "edited" / "tmiclnet"
    shutil.copytree(keys.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert assembly.assembly_key(copy) == assembly.assembly_key()
    return copy


@pytest.mark.parametrize(
    ("module", "old", "new", "retrains"),
    [
        # what the scaler is fitted on: the assembly shapes every number, so the study retrains
        ("assembly.py", "else list(split.train)", "else list(split.train) + list(split.val)", True),
        ("assembly.py", '"""How a protocol', '"""Reworded: how a protocol', False),  # a docstring
        ("figures.py", 'fmt="o", capsize=4', 'fmt="s", capsize=4', False),  # a figure's marker
        ("tables.py", "digits: int = 3", "digits: int = 2", False),  # a table's layout
    ],
)
def test_an_edit_of_the_assembly_retrains_the_study_and_of_its_page_does_not(
    tmp_path, monkeypatch, package_copy, module, old, new, retrains
) -> None:
    inputs, run = _inputs(), small_run(tmp_path, **RUN)
    store = training.study_dir(tmp_path, None, protocols.OURS)
    done = results.fold_dir(store, "syn", MODEL, 0) / "done.json"

    def train() -> tuple[str, int]:
        training.train_protocol(
            inputs, "syn", labels_of(inputs), [MODEL], run, store, protocols.OURS
        )
        return results.read_json(done)["config_hash"], done.stat().st_mtime_ns

    before = train()
    path = package_copy / "study" / "leakage" / module
    assert old in path.read_text(), f"{module} no longer holds {old!r}: update the test"
    path.write_text(path.read_text().replace(old, new, 1))
    keys.code_hash.cache_clear()  # one process sees one code; the test edits it under it
    monkeypatch.setattr(
        assembly, "assembly_key", lambda: keys.code_hash(assembly.ASSEMBLY_CODE, package_copy)
    )
    after = train()
    assert (after[0] != before[0]) is retrains  # the fold key
    assert (after[1] != before[1]) is retrains  # trained again, or read as it was


def test_bootstrap_inflation_interval() -> None:
    rng = np.random.default_rng(0)
    n = 200
    label = rng.random(n) < 0.4
    ids = [f"p{i:03d}" for i in range(n)]
    noise = rng.random(n)

    def frame(prob):
        return pd.DataFrame({"label": label.astype(int), "prob": prob}, index=ids)

    scores = {"ours": frame(noise), "leaky": frame(label + 0.5 * noise), "same": frame(noise)}
    t = tables.bootstrap_aucs(scores, "ours", n_boot=500).set_index("protocol")
    assert 0.4 < t.loc["ours", "auc"] < 0.6
    assert t.loc["ours", "auc_lo"] < t.loc["ours", "auc"] < t.loc["ours", "auc_hi"]
    assert t.loc["leaky", "inflation_lo"] > 0.3  # the interval excludes no inflation
    assert t.loc["same", "inflation"] == 0 and t.loc["same", "inflation_hi"] == 0
    scores["short"] = frame(noise).iloc[1:]
    with pytest.raises(ValueError, match="same patients"):
        tables.bootstrap_aucs(scores, "ours")


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--cohort", "/no/such/cohort"], "--cohort /no/such/cohort: no such folder"),
        (["--cohort", ".", "--models", "nope"], "--model: unknown model(s) ['nope']"),
        (["--cohort", ".", "--protocols", "leakless"], "--protocols: unknown protocol(s)"),
        (["--cohort", ".", "--permute-labels", "-1"], "--permute-labels -1"),
    ],
)
def test_cli_bad_input_is_one_line(args, needle, capsys) -> None:
    from tmiclnet.__main__ import main

    assert main(["study", "leakage", *args]) != 0
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_prose_is_read_off_the_tables() -> None:
    def table(tag, rows):
        cols = ["protocol", "auc", "auc_lo", "auc_hi", "inflation", "inflation_lo", "inflation_hi"]
        t = pd.DataFrame(rows, columns=cols)
        return t.assign(model=MODEL, labels=tag)

    real = table(
        "real",
        [["ours", 0.7, 0.6, 0.8, 0, 0, 0], ["stop on test", 0.76, 0.7, 0.82, 0.06, 0.01, 0.1]],
    )
    perm = table(
        "permuted-0",
        [["ours", 0.51, 0.45, 0.57, 0, 0, 0], ["released", 0.6, 0.53, 0.66, 0.09, -0.01, 0.15]],
    )
    text = tables.takeaways(real, perm)
    assert "AUC 0.700 [0.600, 0.800]" in text
    assert "*stop on test*: +0.060 [+0.010, +0.100], above ours" in text
    assert "*ours* lands at 0.510, +0.010 from 0.5 [-0.050, +0.070]." in text
    assert (
        "*released* lands at 0.600, +0.100 from 0.5 [+0.030, +0.160] (its interval excludes" in text
    )
    assert list(protocols.protocols_table().index) == [p.name for p in protocols.PROTOCOLS]
    # the table leaves the patience out: the release's wherever stop_on_test is on
    assert all(
        (p.patience == protocols.RELEASE_PATIENCE) == p.stop_on_test for p in protocols.PROTOCOLS
    )
