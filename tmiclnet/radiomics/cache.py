"""Per-case feature cache, keyed by content: image, mask, parameter file and pyradiomics version.

A key changes whenever anything that could change a feature value changes, and never otherwise, so
a re-run on unchanged data reads every case back and recomputes nothing. Entries are JSON written
atomically (a crash never leaves a half-written entry that a later run would trust).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import radiomics

from tmiclnet import keys
from tmiclnet.provenance import atomic_write_text, sha256_file


def default_cache_dir() -> Path:
    """`<cache root>/radiomics` (:func:`tmiclnet.config.cache_root`): shared by profiles and
    cohorts, since entries are keyed by content."""
    from tmiclnet.config import cache_root

    return cache_root() / "radiomics"


def case_key(image: Path, mask: Path, params: Path) -> str:
    """The sha256 naming a case's entry: hashes of the three inputs, the extractor's version and
    the code that computes and writes the entry (`tmiclnet.keys.RADIOMICS_CODE`)."""
    parts = [
        keys.code_hash(keys.RADIOMICS_CODE),
        radiomics.__version__,
        sha256_file(image),
        sha256_file(mask),
        sha256_file(params),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def entry_path(cache_dir: Path, key: str) -> Path:
    return Path(cache_dir) / key[:2] / f"{key}.json"


def read(cache_dir: Path, key: str) -> dict | None:
    """The cached entry, or None when absent or unreadable (then it is simply recomputed)."""
    path = entry_path(cache_dir, key)
    try:
        entry = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return entry if entry.get("key") == key else None


def write(cache_dir: Path, key: str, entry: dict) -> None:
    """Store an entry; NaN and infinities are written as strings so the file stays valid JSON."""
    entry = dict(entry, key=key)
    entry["features"] = {k: _encode(v) for k, v in entry["features"].items()}
    atomic_write_text(entry_path(cache_dir, key), json.dumps(entry, indent=0))


def decode_features(entry: dict) -> dict[str, float]:
    return {k: float(v) for k, v in entry["features"].items()}


def _encode(value: float) -> float | str:
    return (
        value if math.isfinite(value) else repr(value)
    )  # 'nan', 'inf', '-inf' -> float() reads them
