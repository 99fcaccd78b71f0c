"""A user's cohort through train and evaluate (issue 28): results beside the folder, never in it,
the same for `--cohort .` and an absolute path; evaluation compares only networks made from the
cohort as it is now, and says what changed and how to retrain the others."""

from __future__ import annotations

import pandas as pd
import pytest

from tests import tiny_cohort as tiny
from tests.cli.runner import one_line_error, run, run_both

QUICK = ["--profile", "quick"]


def _evaluate(root, capsys) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of `evaluate` on the cohort."""
    argv = ["evaluate", "--cohort", str(root), *QUICK, "--n-boot", "20"]
    code, out, err = run_both(argv, capsys)
    return code, out, "\n".join(err)


def _compared(root) -> str:
    table = root.parent / "results" / root.name / "evaluation" / "comparison.csv"
    return " ".join(pd.read_csv(table).astype(str).to_numpy().ravel())


def _flip_label(root, pid: str) -> None:
    labels = pd.read_csv(root / "labels.csv", dtype={"id": str})
    labels.loc[labels["id"] == pid, "label"] = 1 - labels.loc[labels["id"] == pid, "label"]
    labels.to_csv(root / "labels.csv", index=False)


@pytest.mark.slow
def test_stale_results_are_set_apart_or_refused(tiny_cohort, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TMICLNET_CACHE", str(tmp_path / "cache"))
    root = tiny_cohort()
    before = tiny.snapshot(root)
    monkeypatch.chdir(root)  # `--cohort .`: the results still go beside the folder
    assert run(["train", "--cohort", ".", *QUICK, "--model", "radiomics_only"], capsys)[0] == 0
    assert run(["train", "--cohort", str(root), *QUICK, "--model", "text_only"], capsys)[0] == 0
    assert tiny.snapshot(root) == before and sorted(p.name for p in root.parent.iterdir()) == [
        "mine",
        "results",
    ]
    assert _evaluate(root, capsys)[0] == 0
    assert "radiomics_only" in _compared(root) and "text_only" in _compared(root)

    for pid in tiny.IDS:  # every note rewritten: the text model's folds are set apart, by name
        (root / "notes" / f"{pid}.txt").write_text("Seen in clinic, well.\n", "utf-8")
    code, out, _ = _evaluate(root, capsys)
    assert code == 0 and "text_only" not in _compared(root) and "radiomics_only" in _compared(root)
    results = root.parent / "results"
    assert (
        "note: text_only: trained when the cohort had other notes (fold(s) 0, 1); retrain: python "
        f"-m tmiclnet train --cohort {root} --profile quick --model text_only --results {results}; "
        "left out of every table"
    ) in out

    mask = tiny.mask()
    mask[2:4] = 0  # a corrected mask: radiomics changes too, and no network is left
    tiny.nifti.write(root / "masks" / "p-01.nii.gz", mask, tiny.AFFINE)
    code, _, line = _evaluate(root, capsys)
    assert code == 1 and len(line.splitlines()) == 1
    assert (
        "no saved network fits the cohort as it is now (radiomics_only: trained when the " in line
    )
    assert "other radiomic features (images or masks) (fold(s) 0, 1); text_only: " in line
    assert f"retrain: python -m tmiclnet train --cohort {root} --profile quick --model " in line
    train = ["train", "--cohort", str(root), *QUICK, "--model", "radiomics_only,text_only"]
    assert run(train, capsys)[0] == 0  # the keys differ: both retrain, without --retrain
    assert _evaluate(root, capsys)[0] == 0 and "text_only" in _compared(root)

    _flip_label(root, "p-05")  # labels corrected after training: refused, in one line
    folds = root.parent / "results" / "mine" / "folds.csv"
    expect = (
        f"{folds}: label: the saved results were trained on other labels: 1 patient(s) changed "
        "since training (e.g. 'p-05': 0 then, 1 now)"
    )
    one_line_error(["evaluate", "--cohort", str(root), *QUICK], capsys, expect, "--results")
    one_line_error(train, capsys, expect, "--results NEW_FOLDER")


def test_a_cohort_folder_named_results_never_receives_them(tiny_cohort, capsys) -> None:
    root = tiny_cohort("results")
    before = tiny.snapshot(root)
    line = one_line_error(
        ["train", "--cohort", str(root), *QUICK, "--model", "text_only", "--results", str(root)],
        capsys,
        "overlaps the cohort folder",
    )
    assert "--results" in line and tiny.snapshot(root) == before
    code, err = run(["evaluate", "--cohort", str(root), *QUICK], capsys)
    assert code == 1 and str(root.parent / "tmiclnet-results" / "results") in err[0]
    assert tiny.snapshot(root) == before
