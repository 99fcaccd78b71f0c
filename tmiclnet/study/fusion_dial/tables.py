"""The dial's summary and the page's tables and prose, read off `training.run_dial`'s rows.

The summary turns per-fold AUCs into each setting's means, sds and fusion gains; the rest lays
them out for the page and says what they show, every number read from the summary so the prose
cannot disagree with the figures. Nothing here is in a key.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from tmiclnet.data.synthetic import NoteDial
from tmiclnet.study.fusion_dial.settings import setting_notes, slug

UNIMODAL = ("ct_only", "radiomics_only", "text_only")
FUSION = ("early_fusion", "tmiclnet_tokens")
ORACLES = ("oracle_all", "oracle_ct", "oracle_radiomics", "oracle_text")


def summary(per_fold: pd.DataFrame) -> pd.DataFrame:
    """Mean and sd (over folds) of each model's AUC per setting, the oracle, the best unimodal
    model and the fusion gain over it: one row per setting.

    The gain's sd is that of the per-fold differences (fusion minus the best unimodal model,
    chosen by mean AUC), so fold-to-fold difficulty, shared by both, cancels. Choosing that
    baseline by its test AUC favours the baseline, so the gain is, if anything, understated; no
    model is selected or tuned on it.

    Args:
        per_fold: `run_dial`'s table.
    """
    rows = []
    for setting, g in per_fold.groupby("setting", sort=False):
        auc = g.pivot(index="fold", columns="model", values="auc")
        means = auc.mean()
        best = str(means[list(UNIMODAL)].idxmax())
        row = {
            "setting": setting,
            **g.iloc[0][["signal", "reads", "strength", "rho", *ORACLES]],
            "best_unimodal": best,
        }
        for name in (*UNIMODAL, *FUSION):
            row[f"{name}_mean"], row[f"{name}_sd"] = means[name], auc[name].std(ddof=1)
        for name in FUSION:
            diff = auc[name] - auc[best]
            row[f"gain_{name}_mean"], row[f"gain_{name}_sd"] = diff.mean(), diff.std(ddof=1)
        rows.append(row)
    out = pd.DataFrame(rows)
    out["tmiclnet_share_of_oracle"] = out["tmiclnet_tokens_mean"] / out["oracle_all"]
    order = np.lexsort((out["strength"].to_numpy(), (out["signal"] == "redundant").to_numpy()))
    return out.iloc[order].reset_index(drop=True)


# ---------------------------------------------------------------- tables for the page
SHORT = {
    "ct_only": "CT",
    "radiomics_only": "rad",
    "text_only": "text",
    "early_fusion": "early",
    "tmiclnet_tokens": "TMI-CLNet",
}
# A note's lab line: "- Total bilirubin 2.3 mg/dL (ref 0.1-1.2) H" (see tmiclnet.data.notes).
_LAB_LINE = re.compile(
    r"^- (?P<name>.+?) (?P<value>[<>]?[\d.]+) (?P<unit>\S+) \(ref [^)]*\)(?P<flag> [HL])?$"
)


def example_panel(cohort, dials: list[NoteDial], pid: str, fields: tuple[str, ...]) -> pd.DataFrame:
    """One patient's liver panel under each dial: a row per lab, its value and unit (and the
    note's H / L flag) per setting. The rest of the note never changes.

    Args:
        cohort: the synthetic cohort (`tmiclnet.data.cohort.load`).
        dials: the settings to show, one column each.
        pid: the patient.
        fields: a word of each lab line to show ("bilirubin", "Albumin", ...).
    """
    columns = {}
    for dial in dials:
        values = {}
        for line in setting_notes(cohort, dial)[pid].splitlines():
            m = _LAB_LINE.match(line.strip())
            if m and any(f in m["name"] for f in fields):
                values[m["name"]] = f"{m['value']} {m['unit']}{m['flag'] or ''}"
        columns[slug(dial)] = values
    return pd.DataFrame(columns).rename_axis("lab")


def settings_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per setting: the kind of signal, the oracle (all modalities; the note alone), the best
    unimodal model and TMI-CLNet's gain over it (mean ± sd of the per-fold differences).

    Args:
        table: `summary`'s table.
    """
    gain = "gain_tmiclnet_tokens"
    return pd.DataFrame(
        {
            "signal": table["signal"].to_numpy(),
            "oracle": table["oracle_all"].round(3).to_numpy(),
            "oracle, note": table["oracle_text"].round(3).to_numpy(),
            "best single": table["best_unimodal"].map(SHORT).to_numpy(),
            "gain": [
                f"{m:+.3f} ± {s:.3f}" for m, s in zip(table[f"{gain}_mean"], table[f"{gain}_sd"])
            ],
        },
        index=pd.Index(table["setting"], name="setting"),
    )


def models_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per setting, each model's test AUC as mean ± sd over folds, to two decimals (the folds'
    sd dwarfs a third; the gains in `settings_table` keep three).

    Args:
        table: `summary`'s table.
    """
    return pd.DataFrame(
        {
            SHORT[n]: [f"{m:.2f} ± {s:.2f}" for m, s in zip(table[f"{n}_mean"], table[f"{n}_sd"])]
            for n in (*UNIMODAL, *FUSION)
        },
        index=pd.Index(table["setting"], name="setting"),
    )


def signal_panels(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Complementary and redundant rows, each with the strength-0 setting they share.

    Args:
        table: `summary`'s table.
    """
    none = table[table["signal"] == "none"]
    out = {}
    for kind in ("complementary", "redundant"):
        rows = table[table["signal"] == kind]
        if len(rows):
            out[kind] = pd.concat([none, rows]).sort_values("strength")
    return out


def oracle_gain(table: pd.DataFrame) -> pd.Series:
    """The ceiling's gain: the oracle of all modalities over that of the best single one.

    Args:
        table: `summary`'s table.
    """
    single = table[[f"oracle_{m}" for m in ("ct", "radiomics", "text")]].max(axis=1)
    return table["oracle_all"] - single


def _pm(row, name: str) -> str:
    return f"{row[f'{name}_mean']:.3f} ± {row[f'{name}_sd']:.3f}"


def takeaways(table: pd.DataFrame, profile: str) -> str:
    """The chapter's conclusions as Markdown, every number read from `summary`'s table (so the
    prose cannot disagree with the figures).

    Args:
        table: `summary`'s table.
        profile: the profile that produced it (named in the text: quick numbers are a smoke test).
    """
    t = table.reset_index(drop=True)
    gain = "gain_tmiclnet_tokens"
    lines = [f"**What this run shows** (profile `{profile}`, {len(t)} settings):", ""]
    for kind, rows in signal_panels(t).items():
        lo, hi = rows.iloc[0], rows.iloc[-1]
        lines.append(
            f"- **{kind.capitalize()} signal**: from strength {lo['strength']:g} to "
            f"{hi['strength']:g} the oracle moves from {lo['oracle_all']:.3f} to "
            f"{hi['oracle_all']:.3f} and the note-alone oracle from {lo['oracle_text']:.3f} to "
            f"{hi['oracle_text']:.3f}; text-only goes from {_pm(lo, 'text_only')} to "
            f"{_pm(hi, 'text_only')}, TMI-CLNet from {_pm(lo, 'tmiclnet_tokens')} to "
            f"{_pm(hi, 'tmiclnet_tokens')}, and its gain over the best unimodal model from "
            f"{lo[f'{gain}_mean']:+.3f} to {hi[f'{gain}_mean']:+.3f} (the oracle's own gain: "
            f"{oracle_gain(rows).iloc[0]:+.3f} to {oracle_gain(rows).iloc[-1]:+.3f})."
        )
    clear = int((t[f"{gain}_mean"] > t[f"{gain}_sd"]).sum())
    share = t["tmiclnet_share_of_oracle"]
    lines += [
        f"- TMI-CLNet's gain exceeds its fold-to-fold sd in {clear} of {len(t)} settings; it "
        f"reaches {share.min():.0%} to {share.max():.0%} of the oracle.",
        f"- Early fusion's gain over the best unimodal model ranges from "
        f"{t['gain_early_fusion_mean'].min():+.3f} to {t['gain_early_fusion_mean'].max():+.3f}.",
    ]
    above = t.loc[share > 1, "setting"].tolist()
    if above:
        lines.append(
            f"- Above the oracle in {len(above)} setting(s) ({', '.join(above)}): no model can "
            "truly beat the Bayes ceiling, so this is the noise of folds this small."
        )
    if profile == "quick":
        lines.append(
            "- These are **quick-profile** numbers (tens of patients, two folds, two epochs): a "
            "smoke test of the pipeline, not evidence. Run the page with `-p profile cpu`."
        )
    return "\n".join(lines)
