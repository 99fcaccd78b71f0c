"""The radiomics page's generated readings say what the numbers say (and change with them)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tmiclnet.radiomics import plots


def icc_table(erode: float, dilate: float, noise: float) -> pd.DataFrame:
    """20 features whose share of ICC >= 0.75 per perturbation is the given one."""
    rows = [f"original_glcm_F{i}" for i in range(20)]
    col = lambda share: [0.9 if i < round(20 * share) else 0.1 for i in range(20)]  # noqa: E731
    return pd.DataFrame({"erode": col(erode), "dilate": col(dilate), "noise": col(noise)}, rows)


def test_stability_reading_names_the_harshest_and_ties() -> None:
    assert "**dilate** is the harshest" in plots.stability_reading(icc_table(0.7, 0.1, 0.6))
    tie = plots.stability_reading(icc_table(0.15, 0.1, 0.6))
    assert "**erode and dilate** are about equally harsh" in tie


def test_redundancy_reading_follows_the_share() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(30, 1))
    dup = pd.DataFrame(
        base + 1e-3 * rng.normal(size=(30, 6)),
        columns=[f"original_glcm_F{i}" for i in range(6)],
    )
    assert "**most**" in plots.redundancy_reading(dup) and "100.0 %" in plots.redundancy_reading(
        dup
    )
    noise = pd.DataFrame(rng.normal(size=(30, 6)), columns=dup.columns)
    assert "**a small minority**" in plots.redundancy_reading(noise)


def test_every_warning_row_is_explained() -> None:
    table = pd.DataFrame(
        [
            {
                "source": "DeprecationWarning",
                "message": "the load_module() method",
                "count": 2,
                "cases": 2,
            },
            {"source": "x", "message": "something new", "count": 1, "cases": 1},
        ]
    )
    text = plots.warnings_reading(table)
    assert "pykwalify" in text and "not one this page knows" in text
    assert plots.warnings_reading(table.iloc[:0]) == "pyradiomics raised no warning on this cohort."
