"""Radiomics extraction: exactly pyradiomics' values, cached by content, clear errors, families."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from radiomics.featureextractor import RadiomicsFeatureExtractor

from tests.radiomics.cases import write_case
from tmiclnet.config import get_profile
from tmiclnet.radiomics import (
    RadiomicsCaseError,
    extract_cases,
    family_indices,
    feature_families,
    features,
    params_path,
)
from tmiclnet.radiomics import extract as extract_mod
from tmiclnet.radiomics.extract import Case, extract
from tmiclnet.radiomics.families import family_of


@dataclass
class FakeCohort:
    """The slice of tmiclnet.data.cohort.Cohort that radiomics uses."""

    root: Path
    ids: list[str]

    def image_path(self, i: str) -> Path:
        return self.root / "images" / f"{i}.nii.gz"

    def mask_path(self, i: str) -> Path:
        return self.root / "masks" / f"{i}.nii.gz"


@pytest.fixture
def cases(tmp_path: Path) -> list[Case]:
    return [write_case(tmp_path / "cohort", f"c-{k}", seed=k) for k in range(3)]


def _direct(case: Case, params: str) -> dict[str, float]:
    result = RadiomicsFeatureExtractor(str(params_path(params))).execute(
        str(case.image), str(case.mask)
    )
    return {k: float(v) for k, v in result.items() if not k.startswith("diagnostics_")}


@pytest.mark.parametrize("params", ["quick.yaml", "full.yaml"])
def test_features_are_exactly_pyradiomics(cases, tmp_path, params) -> None:
    out = extract_cases(cases[:1], params, n_jobs=1, cache_dir=tmp_path / "cache", progress=False)
    direct = _direct(cases[0], params)
    assert list(out.features.columns) == list(direct)
    row = out.features.loc[cases[0].id].to_dict()
    assert row == direct  # bit-identical, also after the JSON cache round trip
    again = extract_cases(cases[:1], params, n_jobs=1, cache_dir=tmp_path / "cache", progress=False)
    assert again.n_cached == 1 and again.features.loc[cases[0].id].to_dict() == direct


def test_profiles_name_existing_parameter_files() -> None:
    for name in ("quick", "cpu", "gpu"):
        assert params_path(get_profile(name).radiomics_params).is_file()


def test_rerun_recomputes_nothing_and_a_changed_file_only_its_case(
    cases, tmp_path, monkeypatch
) -> None:
    cache_dir = tmp_path / "cache"
    first = extract_cases(cases, "quick.yaml", n_jobs=1, cache_dir=cache_dir, progress=False)
    assert (first.n_cached, first.n_computed) == (0, 3)

    def forbidden(*args, **kwargs):
        raise AssertionError("a cached case was recomputed")

    monkeypatch.setattr(extract_mod, "extract_one", forbidden)
    second = extract_cases(cases, "quick.yaml", n_jobs=1, cache_dir=cache_dir, progress=False)
    assert (second.n_cached, second.n_computed) == (3, 0)
    pd.testing.assert_frame_equal(first.features, second.features)

    monkeypatch.undo()
    write_case(tmp_path / "cohort", "c-1", seed=7)  # new content for one case
    third = extract_cases(cases, "quick.yaml", n_jobs=1, cache_dir=cache_dir, progress=False)
    assert (third.n_cached, third.n_computed) == (2, 1)
    assert not third.features.loc["c-1"].equals(first.features.loc["c-1"])
    assert not list(cache_dir.rglob("*.partial"))


def test_changing_the_parameter_file_changes_the_key(cases, tmp_path) -> None:
    params = tmp_path / "p.yaml"
    params.write_text(params_path("quick.yaml").read_text())
    extract_cases(cases[:1], params, cache_dir=tmp_path / "cache", progress=False)
    params.write_text(params.read_text().replace("binWidth: 25", "binWidth: 10"))
    out = extract_cases(cases[:1], params, cache_dir=tmp_path / "cache", progress=False)
    assert out.n_computed == 1


@pytest.mark.parametrize(
    "kind, reason", [("empty", "not present|No labels"), ("tiny", "too small")]
)
def test_bad_mask_names_the_case_and_keeps_the_others(tmp_path, kind, reason) -> None:
    good = [write_case(tmp_path, f"ok-{k}", seed=k) for k in range(2)]
    mask = np.zeros((20, 24, 24), np.uint8)
    if kind == "tiny":
        mask[9:12, 10:13, 10:13] = 1  # 27 voxels < minimumROISize 64
    bad = write_case(tmp_path, "bad-1", seed=5, mask_override=mask)
    with pytest.raises(RadiomicsCaseError, match=reason) as err:
        extract_cases([*good, bad], "quick.yaml", cache_dir=tmp_path / "cache", progress=False)
    assert set(err.value.failures) == {"bad-1"}
    assert "bad-1" in str(err.value) and str(bad.mask) in str(err.value)
    assert ("27 voxel" if kind == "tiny" else "0 voxel") in str(err.value)
    again = extract_cases(good, "quick.yaml", cache_dir=tmp_path / "cache", progress=False)
    assert again.n_cached == 2, "the good cases were cached before the error"


def test_missing_file_names_the_case(cases, tmp_path) -> None:
    cases[1].mask.unlink()
    with pytest.raises(FileNotFoundError, match="case c-1: mask"):
        extract_cases(cases, "quick.yaml", cache_dir=tmp_path / "cache", progress=False)


def test_pyradiomics_warnings_are_counted_not_printed(cases, tmp_path, capfd) -> None:
    params = tmp_path / "bincount.yaml"
    params.write_text(params_path("quick.yaml").read_text().replace("binWidth: 25", "binCount: 16"))
    out = extract_cases(cases, params, n_jobs=1, cache_dir=tmp_path / "cache", progress=False)
    captured = capfd.readouterr()
    assert "Fixed bin Count" not in captured.err + captured.out
    row = out.warnings[out.warnings.message.str.contains("Fixed bin Count")]
    assert len(row) == 1 and row["cases"].iloc[0] == 3 and row["count"].iloc[0] >= 3
    assert out.warnings.columns.tolist() == [
        "source",
        "level",
        "message",
        "count",
        "cases",
        "example",
    ]


def test_different_feature_names_across_cases_are_an_error(tmp_path) -> None:
    # a LoG sigma wider than a small image is skipped by pyradiomics (with a warning):
    # fewer columns
    params = tmp_path / "log.yaml"
    params.write_text(
        params_path("quick.yaml")
        .read_text()
        .replace("  Original: {}", "  Original: {}\n  LoG:\n    sigma: [40.0]")
    )
    big = write_case(tmp_path, "big", seed=1, shape=(20, 24, 24))
    small = write_case(tmp_path, "small", seed=2, shape=(8, 24, 24), radius=0.9)
    with pytest.raises(ValueError, match="different feature names.*small"):
        extract_cases([big, small], params, cache_dir=tmp_path / "cache", progress=False)


def test_extract_reads_cohort_and_profile(cases, tmp_path) -> None:
    cohort = FakeCohort(tmp_path / "cohort", [c.id for c in cases])
    out = extract(
        cohort, get_profile("quick"), n_jobs=1, cache_dir=tmp_path / "cache", progress=False
    )
    assert out.features.index.tolist() == cohort.ids and out.features.index.name == "id"
    assert out.features.shape[1] == 107 and out.nonfinite == {}
    assert np.isfinite(out.features.to_numpy()).all()
    assert out.timings["cached"].eq(False).all() and (out.timings["cpu_seconds"] > 0).all()
    table = features(cohort, get_profile("quick"), n_jobs=1, cache_dir=tmp_path / "cache")
    pd.testing.assert_frame_equal(table, out.features)
    assert table.attrs["nonfinite"] == {} and isinstance(table.attrs["radiomics_warnings"], list)


@pytest.mark.slow
def test_parallel_gives_the_same_table_as_sequential(cases, tmp_path) -> None:
    seq = extract_cases(cases, "quick.yaml", n_jobs=1, cache_dir=tmp_path / "a", progress=False)
    par = extract_cases(cases, "quick.yaml", n_jobs=2, cache_dir=tmp_path / "b", progress=False)
    pd.testing.assert_frame_equal(seq.features, par.features, check_exact=True)
    assert par.n_computed == 3


def test_feature_families_group_by_filter_and_class() -> None:
    cols = [
        "original_shape_Sphericity",
        "original_firstorder_Mean",
        "original_glcm_Idm",
        "original_firstorder_Median",
        "log-sigma-5-0-mm-3D_glcm_Idm",
        "wavelet-LLH_ngtdm_Busyness",
    ]
    fams = feature_families(cols)
    assert list(fams) == [
        "original_shape",
        "original_firstorder",
        "original_glcm",
        "log-sigma-5-0-mm-3D_glcm",
        "wavelet-LLH_ngtdm",
    ]
    assert fams["original_firstorder"] == ["original_firstorder_Mean", "original_firstorder_Median"]
    assert family_indices(cols) == [[0], [1, 3], [2], [4], [5]]
    with pytest.raises(ValueError, match="age"):
        family_of("age")
    with pytest.raises(ValueError, match="original_color_X"):
        family_of("original_color_X")


def test_full_parameters_give_every_family(cases, tmp_path) -> None:
    out = extract_cases(cases[:1], "full.yaml", cache_dir=tmp_path / "cache", progress=False)
    fams = feature_families(out.features.columns)
    image_types = {f.rpartition("_")[0] for f in fams}
    assert image_types == {
        "original",
        "log-sigma-5-0-mm-3D",
        "log-sigma-10-0-mm-3D",
        *(f"wavelet-{b}" for b in ("LLH", "LHL", "LHH", "HLL", "HLH", "HHL", "HHH", "LLL")),
    }
    assert len(fams) == 1 + 11 * 6  # shape once; 6 intensity/texture classes on each of 11 images
    assert not any(math.isnan(v) for v in out.features.iloc[0])
