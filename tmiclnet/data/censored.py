"""The PBC patients the binary label drops, rendered beside the cohort for the survival view.

The binary label (death within the horizon, `tmiclnet.data.pbc.label_table`) has no value for a
patient whose follow-up ended before the horizon without a death (a transplant, or alive at the
end of the study): 106 of the 418. The PBC cohort folder holds only the eligible patients, and it
stays as it is, so that no binary fold, cache or result moves. These patients are rendered into a
companion folder instead, `<data_dir>/pbc_censored/`, by the same renderer, note writer and seed,
so that every fold's models can score them and the Cox-trained models can learn from them.

Its `labels.csv` holds 0 for every patient: no death was observed during their follow-up (the
schema's label meaning says so). It is never a binary label: the companion is opened with
`open_censored`, never validated as a cohort of its own, and its patients enter only the survival
evaluation (`tmiclnet.evaluate.survival`), where their time and event come from the PBC table.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tmiclnet.config import Profile
from tmiclnet.data import pbc
from tmiclnet.data.render import stable_seed
from tmiclnet.data.tables import pbc_findings
from tmiclnet.data.writer import write_cohort, write_tables

NAME = "pbc_censored"
VERSION = "1.0.0"


def censored_ids(
    table: pd.DataFrame, horizon_days: int = pbc.HORIZON_DAYS, n_eligible: int | None = None
) -> list[str]:
    """The patients censored before the horizon; for a subset profile (`n_eligible` of the 312
    eligible), the same share of them, chosen by a stable hash of the id.

    Args:
        table: the PBC table (`tmiclnet.data.pbc.load_table`).
        horizon_days: the binary label's horizon.
        n_eligible: patients of the binary cohort (None: all eligible, so all censored).
    """
    eligible = pbc.label_table(table, horizon_days).index
    ids = sorted(table.index.difference(eligible))
    if n_eligible is None or n_eligible >= len(eligible):
        return ids
    n = max(2, round(len(ids) * n_eligible / len(eligible)))
    return sorted(sorted(ids, key=lambda i: stable_seed(i, "censored"))[:n])


def censored_dir(data_dir: str | Path) -> Path:
    """`<data_dir>/pbc_censored`: the companion folder of `<data_dir>/pbc`."""
    return Path(data_dir) / NAME


def build_censored(
    profile: Profile,
    data_dir: str | Path,
    seed: int = 0,
    horizon_days: int = pbc.HORIZON_DAYS,
    n_jobs: int | None = None,
    force: bool = False,
    verbose: bool = True,
) -> Path:
    """Build (or reuse) the companion folder of the censored-before-horizon patients.

    Args:
        profile: the PBC cohort's profile (patients, volume shape).
        data_dir: the folder holding `pbc/`; the companion goes beside it.
        seed: the PBC cohort's seed (renderer and notes), so both folders are drawn alike.
        horizon_days: the binary label's horizon.
        n_jobs: processes rendering CT (None: the profile's).
        force: rebuild even when a complete folder with the same parameters exists.
        verbose: print progress lines.
    """
    table = pbc.load_table()
    ids = censored_ids(table, horizon_days, profile.n_patients)
    params = {
        "cohort": NAME,
        "generator": VERSION,
        "profile": profile.name,
        "volume_shape": list(profile.volume_shape),
        "seed": seed,
        "horizon_days": horizon_days,
        "n_patients": len(ids),
    }

    def tables(root: Path) -> dict:
        sub = table.loc[ids]
        made = {
            "clinical": sub[list(pbc.TEXT_FIELDS)],
            "findings": pbc_findings(sub),
            "labels": pd.Series(0, index=sub.index, name="label"),
            "label_meaning": (
                f"no binary label: follow-up ended before {horizon_days} days without a death "
                "(0 = no death observed); used by the survival view only"
            ),
            "extra": {"censored_before_horizon": len(ids), "horizon_days": horizon_days},
        }
        write_tables(root, made, seed)
        return made

    return write_cohort(
        censored_dir(data_dir),
        params,
        tables,
        n_jobs=n_jobs or profile.n_jobs,
        force=force,
        verbose=verbose,
    )


def open_censored(data_dir: str | Path):
    """The companion folder as a `tmiclnet.data.cohort.Cohort` (read, not validated: its labels
    are all 0 by construction), or None when it was not built.

    Args:
        data_dir: the folder holding `pbc/` and `pbc_censored/`.
    """
    from tmiclnet.data.cohort import read

    root = censored_dir(data_dir)
    return read(root) if (root / "cohort.json").exists() else None
