"""The three profiles side by side, as the training page (notebook 08) shows them: how CT and
text enter the models, and the optimisation budget.

It lives outside `tmiclnet.train` because every source file there is part of the trained folds'
code key (`tmiclnet.keys.CODE_PATHS`), and a table of settings shapes no result.
"""

from __future__ import annotations

import pandas as pd

from tmiclnet.config import PROFILES


def design_table() -> pd.DataFrame:
    """One column per profile: how CT and text enter the models, and the optimisation budget.

    Profiles are columns and the values short, so the table fits the page at 1280 px."""
    columns = {}
    for p in PROFILES.values():
        text = (
            "fine-tuned"
            if p.text_finetune
            else f"frozen, {p.text_lines} lines"
            if p.text_lines
            else "frozen, cached"
        )
        columns[p.name] = {
            "CT encoder": "per fold, cached" if p.ct_strategy == "cached" else "end to end",
            "text encoder": text,
            "folds": p.folds,
            "CV repeats": p.cv_repeats,
            "max epochs": p.epochs,
            "patience": p.patience,
            "batch": p.batch_size,
            "lr": f"{p.lr:g}",
            "AMP": "on GPU" if p.amp else "off",
        }
    return pd.DataFrame(columns).rename_axis("setting")
