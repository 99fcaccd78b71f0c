"""The cohort schema: written by the build, drafted by `data init`, read by validator and
references (issue 12)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.data.folders import write_case
from tmiclnet.__main__ import main as tmiclnet_main
from tmiclnet.data import cohort as cohorts
from tmiclnet.data import schema
from tmiclnet.data.pbc import TEXT_FIELDS
from tmiclnet.data.validate import validate
from tmiclnet.evaluate import references

IDS = [f"pt-{i}" for i in range(1, 9)]


def _realistic(root, with_schema: bool = True):
    """A hospital's table: its own names, sex as M/F, ALT and INR that PBC never had."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            "id": IDS,
            "age": rng.integers(30, 80, 8),
            "sex": ["M", "F"] * 4,
            "bilirubin": rng.uniform(0.3, 9, 8).round(1),
            "ALT": rng.integers(10, 300, 8),
            "INR": rng.uniform(0.9, 2.5, 8).round(2),
        }
    )
    root.mkdir(parents=True)
    table.to_csv(root / "clinical.csv", index=False)
    pd.DataFrame({"id": IDS, "label": [0, 1] * 4}).to_csv(root / "labels.csv", index=False)
    for pid in IDS:
        write_case(root, pid)
        (root / "notes").mkdir(exist_ok=True)
        (root / "notes" / f"{pid}.txt").write_text("Free text as the clinician wrote it.\n")
    if with_schema:
        assert tmiclnet_main(["data", "init", str(root / "clinical.csv")]) == 0
    return table.set_index("id")


def test_pbc_schema_is_the_old_contract() -> None:
    pbc = schema.pbc_schema()
    assert list(pbc.columns) == list(TEXT_FIELDS)
    assert pbc.columns["albumin"]["range"] == [0.5, 7.0] and pbc.columns["sex"]["values"] == [
        "f",
        "m",
    ]
    assert pbc.mayo == {k: k for k in schema.MAYO_INPUTS}


def test_the_build_writes_a_schema_and_load_reads_it(tiny_cohorts) -> None:
    assert sorted(tiny_cohorts) == sorted(cohorts.COHORTS)
    for root in tiny_cohorts.values():
        written = schema.read(root)
        assert written is not None and list(written.columns) == list(TEXT_FIELDS)
        loaded = cohorts.load(root)
        assert loaded.schema.source == str(root / "schema.yaml")
        assert (
            "schema.yaml" in __import__("json").loads((root / "cohort.json").read_text())["files"]
        )
    assert "died within 1825 days" in (tiny_cohorts["pbc"] / "schema.yaml").read_text()


def test_a_realistic_table_is_valid_with_its_drafted_schema(tmp_path, capsys) -> None:
    root = tmp_path / "hospital"
    _realistic(root)
    drafted = schema.read(root)
    assert drafted.columns["sex"] == {"type": "categorical", "values": ["F", "M"]}
    assert drafted.columns["INR"]["unit"] == "ratio" and drafted.mayo is None
    assert validate(root) == []
    assert tmiclnet_main(["data", "init", str(root / "clinical.csv")]) == 1  # never overwritten
    assert "schema.yaml: exists; not overwritten" in capsys.readouterr().err
    clinical = pd.read_csv(root / "clinical.csv")
    clinical.loc[0, "INR"] = 25.0
    clinical.loc[1, "sex"] = "male"
    clinical.to_csv(root / "clinical.csv", index=False)
    lines = [str(p) for p in validate(root)]
    assert "clinical.csv: INR[pt-1]: 25 outside the physiological range [0.5, 10] ratio" in lines
    assert "clinical.csv: sex[pt-2]: 'male' not one of ['F', 'M']" in lines


def test_without_a_schema_the_pbc_names_are_required_and_init_is_named(tmp_path) -> None:
    root = tmp_path / "hospital"
    _realistic(root, with_schema=False)
    lines = [str(p) for p in validate(root)]
    assert any(line.startswith("clinical.csv: bili: missing column") for line in lines)
    assert all("data init" in line for line in lines if "missing column" in line)


def test_malformed_schema_is_named(tmp_path) -> None:
    root = tmp_path / "hospital"
    _realistic(root)
    (root / "schema.yaml").write_text("columns:\n  age: {type: number}\n")
    assert [str(p) for p in validate(root)] == [
        "schema.yaml: columns.age.type: 'number' is not numeric/categorical"
    ]


def _folds(ids) -> pd.DataFrame:
    return pd.DataFrame({"id": ids, "fold": [i % 2 for i in range(len(ids))]})


def test_mayo_runs_only_when_its_five_inputs_have_values(tmp_path) -> None:
    rng = np.random.default_rng(1)
    ids = [f"p{i}" for i in range(40)]
    clin = pd.DataFrame(
        {
            "bili": rng.uniform(0.5, 10, 40),
            "albumin": rng.uniform(2.5, 4.5, 40),
            "age": rng.uniform(30, 80, 40),
            "protime": rng.uniform(9, 14, 40),
            "edema": rng.choice([0, 0.5, 1], 40),
        },
        index=pd.Index(ids, name="id"),
    )
    y = pd.Series((clin["bili"] > 3).astype(int).to_numpy(), index=clin.index)
    assert "mayo_risk" in references.ensure_references(clin, y, _folds(ids), tmp_path, "a")
    empty = clin.assign(albumin=np.nan)  # the column is there, every value left empty
    names = references.ensure_references(empty, y, _folds(ids), tmp_path, "b")
    assert names == ["logreg_clinical"]
    declared = schema.draft(clin)
    assert declared.mayo == {k: k for k in schema.MAYO_INPUTS}
    declared.mayo = None  # the schema says: no Mayo score for this cohort
    names = references.ensure_references(clin, y, _folds(ids), tmp_path, "c", schema=declared)
    assert names == ["logreg_clinical"]


def test_logistic_regression_uses_the_declared_types() -> None:
    clin = pd.DataFrame(
        {"ward": [1, 2, 1, 3], "crp": ["5", "x", "7.5", ""], "note_only": [1, 2, 3, 4]},
        index=pd.Index(list("abcd"), name="id"),
    )
    declared = schema.Schema(
        columns={
            "ward": {"type": "categorical", "values": [1, 2, 3]},
            "crp": {"type": "numeric", "unit": "mg/L", "range": [0, 500]},
            "note_only": {"type": "numeric"},
        },
        logreg=["ward", "crp"],
    )
    table = references.declared_table(clin, declared)
    assert list(table.columns) == ["ward", "crp"]
    assert table["ward"].tolist() == ["1", "2", "1", "3"]  # one-hot, not a number
    assert table["crp"].iloc[0] == 5.0 and table["crp"].iloc[1:].isna().tolist() == [
        True,
        False,
        True,
    ]
    pipe = references.make_logreg(table)
    kinds = {name: cols for name, _, cols in pipe.named_steps["prep"].transformers}
    assert kinds == {"num": ["crp"], "cat": ["ward"]}


@pytest.mark.parametrize("name", ["pbc", "synthetic"])
def test_the_bundled_tables_are_unchanged_by_their_schema(name, tiny_cohorts) -> None:
    c = cohorts.load(tiny_cohorts[name])
    assert references.declared_table(c.clinical, c.schema).equals(c.clinical)
