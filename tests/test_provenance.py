"""Checksums and atomic writes."""

from __future__ import annotations

import os

import pytest

from tmiclnet import provenance


def test_verify_names_file_and_digests(tmp_path) -> None:
    f = tmp_path / "table.csv"
    f.write_text("id,x\n1,2\n")
    good = provenance.sha256_file(f)
    assert provenance.verify(f, good) == f
    with pytest.raises(provenance.ChecksumError, match="table.csv: sha256 is"):
        provenance.verify(f, "0" * 64)
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        provenance.verify(tmp_path / "missing.csv", good)


def test_atomic_write_leaves_no_partial_and_normal_permissions(tmp_path) -> None:
    target = tmp_path / "sub" / "out.bin"
    provenance.atomic_write_bytes(target, b"abc")
    assert target.read_bytes() == b"abc"
    assert list(target.parent.iterdir()) == [target]
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask
