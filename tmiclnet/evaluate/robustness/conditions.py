"""The test-time perturbations: a modality marked absent, CT noise in HU, another scanner.

A condition changes the inputs of a fold's test patients and nothing else; `applies` says for
which models a condition means something, so that no row measures a model on a modality it does
not read or on a missing input it never learned to do without.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch

from tmiclnet.batch import MODALITIES
from tmiclnet.data.render import EXTERNAL, Scanner
from tmiclnet.evaluate.robustness.missing import missing_inputs


@dataclass(frozen=True)
class Condition:
    """One test-time perturbation."""

    name: str
    drop: str | None = None  # modality marked absent
    noise_hu: float = 0.0  # extra Gaussian noise, HU
    scanner: Scanner | None = None  # the test patients rendered by this scanner (CT and radiomics)


def default_conditions() -> list[Condition]:
    """The page's conditions: unperturbed, each modality dropped, three CT noise levels, and the
    external center."""
    return [
        Condition("none"),
        *(Condition(f"drop_{m}", drop=m) for m in MODALITIES),
        *(Condition(f"ct_noise_{h}HU", noise_hu=h) for h in (10, 25, 50)),
        Condition("external", scanner=EXTERNAL),
    ]


def conditions_table(conditions: list[Condition] | None = None) -> pd.DataFrame:
    """One row per condition: what is dropped, the extra noise, the scanner (flat, for a page).

    Used by notebook 12 (robustness).

    Args:
        conditions: the conditions to list; None: `default_conditions()`.
    """
    rows = [
        {
            "name": c.name,
            "drop": c.drop or "",  # blank, not NaN: nothing is dropped
            "noise_hu": c.noise_hu,
            "scanner": c.scanner.name if c.scanner else "",
        }
        for c in conditions or default_conditions()
    ]
    return pd.DataFrame(rows).set_index("name")


def window_width_hu() -> float:
    """HU per unit of the [0, 1] CT intensities (the dataset's liver window)."""
    from tmiclnet.data.dataset import WINDOW_HU

    return float(WINDOW_HU[1] - WINDOW_HU[0])


def add_noise(ct: torch.Tensor, noise_hu: float, seed: int) -> torch.Tensor:
    """`ct` (N,1,D,H,W in [0,1]) plus Gaussian noise of `noise_hu` HU, clipped to the window."""
    if noise_hu <= 0:
        return ct
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(ct.shape, generator=g, dtype=torch.float32) * (noise_hu / window_width_hu())
    return (ct + noise).clamp(0.0, 1.0)


def perturb(inputs: dict, cond: Condition, seed: int) -> dict:
    """A copy of model inputs (keys as in a model batch, CT as volumes) under `cond`."""
    out = dict(inputs)
    if cond.drop is not None:
        present = out["present"].clone()
        present[:, MODALITIES.index(cond.drop)] = False
        out["present"] = present
    if "ct" in out and cond.noise_hu > 0:
        out["ct"] = add_noise(out["ct"], cond.noise_hu, seed)
    return out


def applies(cond: Condition, modalities: tuple[str, ...], name: str | None = None) -> bool:
    """A condition is meaningful for a model that reads the perturbed modality and keeps another;
    dropping a modality, only for a model that learned to predict without one (`missing_inputs`).
    """
    if cond.drop is not None:
        trained = name is None or missing_inputs(name) is not None
        return cond.drop in modalities and len(modalities) > 1 and trained
    if cond.scanner is not None:
        return "ct" in modalities or "radiomics" in modalities
    if cond.noise_hu > 0:
        return "ct" in modalities
    return True
