"""One cache root: $TMICLNET_CACHE moves every cache; the CT cache key tells cohorts apart."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import torch

from tmiclnet import config, keys, text
from tmiclnet.data import dataset, template
from tmiclnet.inputs import features
from tmiclnet.radiomics import extract


def test_every_cache_follows_the_environment_variable(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("TMICLNET_CACHE", raising=False)
    assert config.cache_root() == config.project_root() / "data" / "cache"
    monkeypatch.setenv("TMICLNET_CACHE", str(tmp_path))
    assert config.cache_root() == tmp_path
    assert text.default_cache_dir() == tmp_path / "text"
    assert extract.default_cache_dir() == tmp_path / "radiomics"
    assert template.cache_dir() == tmp_path


def _cohort(root: Path, image: bytes, listed: bool) -> SimpleNamespace:
    """A one-patient cohort folder; its cohort.json lists the image or (hand-written) does not."""
    (root / "images").mkdir(parents=True)
    (root / "images" / "a.nii.gz").write_bytes(image)
    files = {"images/a.nii.gz": image.hex()} if listed else {}
    manifest = {"name": "pbc", "files": files}
    (root / "cohort.json").write_text(json.dumps(manifest))
    return SimpleNamespace(
        root=root,
        name="pbc",
        ids=["a"],
        manifest=manifest,
        image_path=lambda pid: root / "images" / f"{pid}.nii.gz",
    )


class FakeCT:
    """Stands for CTDataset: one volume filled with the image file's first byte."""

    def __init__(self, cohort, ids, profile, train):
        self.value = float(cohort.image_path(ids[0]).read_bytes()[0])

    def __len__(self):
        return 1

    def __getitem__(self, i):
        return {"ct": torch.full((1, 2, 2, 2), self.value)}


def test_ct_volumes_default_to_the_cache_root(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TMICLNET_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(dataset, "CTDataset", FakeCT)
    profile = config.get_profile("quick")
    ct, key = features.ct_volumes(_cohort(tmp_path / "one", b"\x01", True), profile)
    assert [p.name for p in (tmp_path / "cache" / "ct").iterdir()] == [f"ct_pbc_{key}.pt"]
    assert ct.shape == (1, 1, 2, 2, 2) and ct.max() == 1.0


def test_same_named_cohorts_in_two_data_folders_never_share_volumes(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TMICLNET_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(dataset, "CTDataset", FakeCT)
    profile = config.get_profile("quick")
    keys, values = [], []
    for listed in (True, False):  # a manifest that lists the image, and one that omits it
        for folder, image in (("one", b"\x01"), ("two", b"\x02")):
            cohort = _cohort(tmp_path / f"{folder}_{listed}", image, listed)
            ct, key = features.ct_volumes(cohort, profile)
            keys.append(key)
            values.append(float(ct.max()))
    assert len(set(keys)) == 4 and values == [1.0, 2.0, 1.0, 2.0]


def test_an_edit_of_the_common_grid_code_is_never_served_stale(tmp_path, monkeypatch) -> None:
    """The CT key covers the grid code of mixed-spacing cohorts, not only the transforms."""
    monkeypatch.setenv("TMICLNET_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(dataset, "CTDataset", FakeCT)
    profile = config.get_profile("quick")
    cohort = _cohort(tmp_path / "one", b"\x01", True)
    _, before = features.ct_volumes(cohort, profile)
    assert "data/grid.py" in keys.CT_CODE
    real = keys.code_hash

    def edited(modules=keys.RESULT_CODE, package=keys.PACKAGE_DIR):
        return "edited" if modules == keys.CT_CODE else real(modules, package)

    monkeypatch.setattr(keys, "code_hash", edited)
    assert features.ct_volumes(cohort, profile)[1] != before
