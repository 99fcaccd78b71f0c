"""Another center's scanner: the test patients imaged again, their CT and radiomics re-derived.

The robustness page's "external" condition (`tmiclnet.evaluate.robustness.conditions`): the
cohort is rendered again by another scanner (`tmiclnet.data.external`: same patients, same
anatomy), its volumes go through the same CT transforms as the originals, and its radiomics are
re-extracted with the profile's parameter file. Each fold's radiomics pipeline stays the one
fitted on the fold's ORIGINAL training rows: the model meets the new center with the old center's
scaling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from tmiclnet.data.render import Scanner


@dataclass
class Rescanned:
    """Every patient of a cohort as another scanner imaged them: CT volumes and raw radiomics."""

    ids: list[str]
    ct: torch.Tensor  # (N,1,D,H,W), through the same transforms as the originals
    radiomics: pd.DataFrame  # raw features, index id


def rescan(cohort, run, scanner: Scanner, ids: list[str] | None = None) -> Rescanned:
    """The cohort rendered again by `scanner` (built once), its CT volumes (in the CT cache, as
    the originals are) and its radiomics (cached per case), extracted for `ids` only when given
    (radiomics are what costs: the test patients of the folds evaluated are enough)."""
    from tmiclnet.data.cohort import load
    from tmiclnet.data.external import build_external
    from tmiclnet.inputs.features import ct_volumes
    from tmiclnet.radiomics.extract import extract

    other = load(build_external(cohort.root, scanner, n_jobs=run.profile.n_jobs, verbose=False))
    if other.ids != cohort.ids:
        raise ValueError(f"{other.root}: other patients than {cohort.root}")
    ct, _ = ct_volumes(other, run.profile)
    wanted = set(other.ids if ids is None else ids)
    keep = [pid for pid in other.ids if pid in wanted]
    feats = extract(other, run.profile, ids=keep).features.loc[keep]
    return Rescanned(list(other.ids), ct, feats)


def rescanned_inputs(fold, inputs, scan: Rescanned, profile) -> dict:
    """The fold's test inputs with CT and radiomics taken from `scan`.

    Radiomics are scaled by the fold's pipeline fitted on its original training rows (the ones the
    model was trained with), then applied to the rescanned test rows.
    """
    from tmiclnet.radiomics.preprocess import fit_fold, transform

    ids = list(fold.test.ids)
    out = dict(fold.test.inputs)
    if "ct" in out:
        where = {pid: i for i, pid in enumerate(scan.ids)}
        out["ct"] = scan.ct.index_select(0, torch.tensor([where[i] for i in ids]))
    if "radiomics" in out:
        labels = pd.Series(inputs.labels.numpy(), index=inputs.ids)
        pipe = fit_fold(inputs.radiomics, labels, fold.fin.split.train, profile)
        scaled = transform(pipe, scan.radiomics[inputs.radiomics.columns], ids)
        if [str(c) for c in scaled.columns] != list(fold.fin.rad_columns):
            raise ValueError(
                "rescanned radiomics: the fold pipeline gave other columns than in training"
            )
        out["radiomics"] = torch.from_numpy(np.ascontiguousarray(scaled.to_numpy(dtype=np.float32)))
    return out
