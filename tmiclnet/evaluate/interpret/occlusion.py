"""Occlusion on CT: which blocks of one patient's volume moved the predicted risk.

The volume is cut into a grid of blocks; each block in turn is set to the volume's mean and the
change of P(label=1) is written into that block (Zeiler & Fergus, 2014). It asks the model only
for predictions, so it works for every model of the catalogue, cached CT tokens included (the
fold's CT-only encoder turns each occluded volume into tokens, as in training).

Why not `monai.visualize.OcclusionSensitivity`: MONAI slides a mask of one fixed size in voxels,
and where the size does not divide an axis its last window is shifted back to the edge and the
overlap averaged. The page cuts every axis into a number of blocks (4 x 6 x 6): on the cpu and gpu
grids (64 and 128 voxels in 6) those blocks are 10 or 11 voxels wide and tile the axis exactly,
which MONAI's windows cannot. Where the blocks do divide the grid (the quick profile) the two maps
agree to float precision (tests/evaluate/test_interpret.py holds MONAI's map beside this one).
"""

from __future__ import annotations

import numpy as np

from tmiclnet.evaluate.saved import SavedFold, repeat_rows


def ct_occlusion(
    fold: SavedFold,
    name: str,
    patient: int,
    blocks: tuple[int, int, int] = (4, 8, 8),
    chunk: int = 32,
) -> np.ndarray:
    """Change of P(label=1) when each block of patient `patient`'s CT is set to the volume mean.

    Returns a (D, H, W) map (positive = the block pushed the risk up) on the CT grid.

    Used by notebook 13 (interpretation).

    Args:
        fold: the fold's test patients and saved models (`tmiclnet.evaluate.saved.saved_fold`).
        name: the catalogue name of a model saved in that fold, e.g. ``tmiclnet_tokens``.
        patient: row of the patient among the fold's test patients (0-based).
        blocks: how many blocks the CT is cut into along (D, H, W).
        chunk: occluded volumes per forward pass (bounds the memory used).
    """
    inputs = fold.patient_inputs(patient)
    ct = inputs["ct"]
    d, h, w = ct.shape[2:]
    edges = [np.linspace(0, s, b + 1).round().astype(int) for s, b in zip((d, h, w), blocks)]
    cells = [
        (a, b, c) for a in range(blocks[0]) for b in range(blocks[1]) for c in range(blocks[2])
    ]
    base = float(fold.probs(name, inputs)[0])
    fill = float(ct.mean())
    drops = []
    for start in range(0, len(cells), chunk):
        part = cells[start : start + chunk]
        vols = ct.repeat(len(part), 1, 1, 1, 1)
        for i, (a, b, c) in enumerate(part):
            vols[
                i,
                :,
                edges[0][a] : edges[0][a + 1],
                edges[1][b] : edges[1][b + 1],
                edges[2][c] : edges[2][c + 1],
            ] = fill
        batch = {k: (vols if k == "ct" else repeat_rows(v, len(part))) for k, v in inputs.items()}
        drops += (base - fold.probs(name, batch)).tolist()
    out = np.zeros((d, h, w), dtype=np.float32)
    for (a, b, c), value in zip(cells, drops):
        out[
            edges[0][a] : edges[0][a + 1],
            edges[1][b] : edges[1][b + 1],
            edges[2][c] : edges[2][c + 1],
        ] = value
    return out
