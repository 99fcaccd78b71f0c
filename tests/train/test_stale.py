"""No stale numbers: fold keys cover the code that shapes them, a retrain regenerates what feeds
other models, and the test fold's labels reach nothing that is trained or chosen."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest
import torch

from tests.train.tiny import CT_MODELS, ct_radiomics_inputs, cv, small_run
from tmiclnet import keys, results

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def package_copy(tmp_path):
    """A copy of the package to edit; the key of the untouched copy is the installed one's."""
    copy = tmp_path / "tmiclnet"
    shutil.copytree(keys.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert keys.code_hash(package=copy) == keys.code_hash()
    return copy


def _edit(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path.name} no longer holds {old!r}: update the test"
    path.write_text(text.replace(old, new, 1))


def _edited_hash(copy) -> str:
    keys.code_hash.cache_clear()  # one process sees one code; the test edits it under it
    return keys.code_hash(package=copy)


def test_docstrings_comments_and_report_layout_leave_every_result_valid(package_copy) -> None:
    trainer = package_copy / "train" / "trainer.py"
    _edit(trainer, '"""', '"""A rewritten opening line of the docstring.\n\n')
    trainer.write_text(trainer.read_text() + "\n# a comment\n")
    report = package_copy / "train" / "curves.py"  # a table's layout: shapes no number
    report.write_text(report.read_text() + "\n\ndef another_layout():\n    return 'wide'\n")
    bench = package_copy / "bench" / "training.py"
    bench.write_text(bench.read_text() + "\nLEVER = 3\n")
    assert _edited_hash(package_copy) == keys.code_hash()


@pytest.mark.parametrize(
    ("module", "old", "new"),
    [
        ("train/trainer.py", "clip_grad_norm_(", "clip_grad_value_("),  # the trainer's arithmetic
        ("radiomics/preprocess.py", "StandardScaler()", "StandardScaler(with_mean=False)"),
    ],
)
def test_an_edit_of_the_arithmetic_invalidates_every_result(package_copy, module, old, new):
    _edit(package_copy / module, old, new)
    assert _edited_hash(package_copy) != keys.code_hash()


def test_the_result_key_lists_no_display_bench_or_cli_code() -> None:
    listed = set(keys.RESULT_CODE)
    assert not {p for p in listed if p.split("/")[0] in ("bench", "book", "cli", "evaluate")}
    assert "train/curves.py" not in listed and "train/schedule.py" not in listed
    every = {p.relative_to(keys.PACKAGE_DIR).as_posix() for p in keys.PACKAGE_DIR.rglob("*.py")}
    assert listed <= every  # a renamed module must not silently drop out of the key


def test_retrain_regenerates_the_cached_ct_tokens(tmp_path) -> None:
    run, out = small_run(tmp_path, n_jobs=1), tmp_path / "results"
    cv(ct_radiomics_inputs(), run, out, CT_MODELS, folds=[0])
    folder = results.fold_dir(out, "syn", "ct_only", 0)
    saved = torch.load(folder / "ct_tokens.pt", weights_only=True)
    stale = {"key": saved["key"], "tokens": torch.zeros_like(saved["tokens"])}
    torch.save(stale, folder / "ct_tokens.pt")  # what an earlier run of the encoder left
    table = cv(ct_radiomics_inputs(), run, out, CT_MODELS, folds=[0], retrain=True)
    assert set(table["status"]) == {"trained"}
    again = torch.load(folder / "ct_tokens.pt", weights_only=True)["tokens"]
    assert torch.equal(again, saved["tokens"])  # made anew by the retrained encoder
    assert again.abs().sum() > 0


def test_test_labels_reach_nothing_on_the_cached_token_path(tmp_path) -> None:
    """Permuting the test fold's labels leaves every prediction of the fold unchanged."""
    run, inputs = small_run(tmp_path, n_jobs=1), ct_radiomics_inputs()
    cv(inputs, run, tmp_path / "a", CT_MODELS, folds=[0])
    folds = results.read_folds(tmp_path / "a", "syn")
    test = folds["fold"] == 0
    rng = np.random.default_rng(1)
    folds.loc[test, "label"] = rng.permutation(folds.loc[test, "label"].to_numpy())
    labels = folds.set_index("id")["label"].loc[inputs.ids]
    assert (labels.to_numpy() != inputs.labels.numpy()).any()
    (tmp_path / "b" / "syn").mkdir(parents=True)
    folds.to_csv(results.folds_path(tmp_path / "b", "syn"), index=False)
    permuted = dataclasses.replace(inputs, labels=torch.tensor(labels.to_numpy()))
    cv(permuted, run, tmp_path / "b", CT_MODELS, folds=[0], labels=labels)
    for model in CT_MODELS:
        a, b = (results.load_predictions(tmp_path / r, "syn", model) for r in "ab")
        np.testing.assert_array_equal(a["prob"], b["prob"])
        assert a["threshold"].equals(b["threshold"])
