"""The own-data page's worked example, run end to end: a "foreign" re-export of the controlled
cohort (other names, other notes, LPS, mixed spacings) through init, validate, train, evaluate."""

from __future__ import annotations

import pandas as pd
import pytest

from tmiclnet.__main__ import main as tmiclnet
from tmiclnet.config import get_profile
from tmiclnet.data import cohort as cohorts

MODELS = "ct_only,radiomics_only,text_only,tmiclnet_tokens"


@pytest.mark.slow
def test_foreign_cohort_trains_and_evaluates(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("TMICLNET_CACHE", str(tmp_path / "cache"))
    source = cohorts.build("synthetic", get_profile("quick"), tmp_path / "generated", n_jobs=1)
    own = tmp_path / "own" / "foreign"
    assert tmiclnet(["data", "foreign", "--cohort", str(source), "--out", str(own)]) == 0
    assert not (own / "cohort.json").exists() and not (own / "schema.yaml").exists()

    assert tmiclnet(["data", "init", str(own / "clinical.csv")]) == 0
    assert tmiclnet(["data", "validate", "--cohort", str(own), "--profile", "quick"]) == 0
    out = capsys.readouterr().out
    assert "Mayo score mapped" in out and f"{own}: valid" in out
    assert "fact: orientation: LPS (40)" in out and "spacing_mm: " in out and "mixed" in out

    train = ["train", "--cohort", str(own), "--profile", "quick", "--model", MODELS]
    assert tmiclnet(train) == 0
    assert tmiclnet(["evaluate", "--cohort", str(own), "--profile", "quick", "--n-boot", "50"]) == 0
    out = capsys.readouterr().out
    assert "references: logreg_clinical, mayo_risk" in out
    table = pd.read_csv(tmp_path / "own" / "results" / "foreign" / "evaluation" / "comparison.csv")
    shown = " ".join(table.astype(str).to_numpy().ravel())
    for model in [*MODELS.split(","), "logreg_clinical", "mayo_risk"]:
        assert model in shown, model
    assert (tmp_path / "generated" / "synthetic").exists()  # the source cohort is untouched
    assert sorted(p.name for p in (tmp_path / "own").iterdir()) == ["foreign", "results"]
    assert list((tmp_path / "cache" / "ct").glob("ct_foreign_*.pt"))  # caches: the cache root
