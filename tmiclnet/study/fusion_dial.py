"""When does fusion help? A dial of what the clinical note reveals, on the controlled cohort.

Each setting rewrites only the notes of the synthetic cohort (`tmiclnet.data.synthetic.NoteDial`:
which latent factor the liver panel follows, and how strongly); labels, CT volumes and radiomics
stay as built. So the costly parts come from what exists: the CT-only and radiomics-only models
are the training page's (same inputs, same keys, in the same results folder: trained here only if
missing), and their CT tokens feed every setting's fusion models. Per setting only the text
tokens and the three models that read the note (text-only, early fusion, TMI-CLNet tokens) are
made, with the training page's protocol (the same folds, `tmiclnet.train.jobs.make_job` and
`train_fold`), into a results folder of their own (`<results>/fusion_dial/<setting>/`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from tmiclnet import results
from tmiclnet.config import CtStrategy, Run
from tmiclnet.data.notes import write_note
from tmiclnet.data.render import stable_seed
from tmiclnet.data.synthetic import NoteDial, SyntheticModel, dial_clinical, dial_oracle
from tmiclnet.evaluate.metrics import fold_metrics
from tmiclnet.inputs import folds as folds_mod
from tmiclnet.inputs.features import CohortInputs, FoldInputs, fold_inputs, load_inputs
from tmiclnet.inputs.tensors import TensorData
from tmiclnet.provenance import atomic_write_text
from tmiclnet.train.ddp import SINGLE
from tmiclnet.train.jobs import JobContext, ct_plan, make_job, train_ct_only
from tmiclnet.train.schedule import train_folds, train_jobs

FIXED_MODELS = ("ct_only", "radiomics_only")  # read no note: one run serves every setting
NOTE_MODELS = ("text_only", "early_fusion", "tmiclnet_tokens")  # trained per setting
UNIMODAL = ("ct_only", "radiomics_only", "text_only")
FUSION = ("early_fusion", "tmiclnet_tokens")
STUDY_DIR = "fusion_dial"
ORACLES = ("oracle_all", "oracle_ct", "oracle_radiomics", "oracle_text")

# profile -> (complementary strengths, redundant strengths); strength 0 is one setting (a note
# that reveals nothing reads no factor), listed once under complementary
DIALS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "quick": ((0.0, 2.0), (2.0,)),
    "cpu": ((0.0, 1.0, 2.0), (2.0,)),
    "gpu": ((0.0, 0.5, 1.0, 2.0), (0.5, 1.0, 2.0)),
}


# profile -> how many of the training page's folds each setting trains (None: all of them). The
# cpu profile's 4 settings on all 5 folds cost more than this chapter's share of the book's budget;
# the first 3 folds keep every comparison paired (the same test patients for every model).
STUDY_FOLDS: dict[str, int | None] = {"quick": None, "cpu": 3, "gpu": None}


def folds_for(run: Run) -> list[int]:
    """The training page's folds a setting trains on this profile (`STUDY_FOLDS`).

    Args:
        run: profile, data folder, seed and device (`tmiclnet.config.setup`).
    """
    n = STUDY_FOLDS.get(run.profile.name) or run.profile.folds
    return list(range(min(n, run.profile.folds)))


def dials_for(profile: str) -> list[NoteDial]:
    """The settings a profile runs: the note reads its own factor (complementary) at each
    strength, then the CT's factor (redundant).

    Args:
        profile: a profile name (`quick` and `cpu` run 3 and 4 settings, `gpu` 7; the CT-only
            and radiomics-only models are trained once for all of them).
    """
    complementary, redundant = DIALS.get(profile, DIALS["cpu"])
    return [NoteDial("text", s) for s in complementary] + [NoteDial("ct", s) for s in redundant]


def slug(dial: NoteDial) -> str:
    """The setting's folder name, e.g. `text-1.5` (`none-0` for a note that reveals nothing).

    Args:
        dial: the setting.
    """
    return "none-0" if dial.strength == 0 else f"{dial.reads}-{dial.strength:g}"


def signal_kind(dial: NoteDial) -> str:
    """`complementary` (the note's own factor), `redundant` (an image's), `none` (strength 0).

    Args:
        dial: the setting.
    """
    if dial.strength == 0:
        return "none"
    return "complementary" if dial.reads == "text" else "redundant"


def setting_notes(cohort, dial: NoteDial) -> dict[str, str]:
    """Every patient's note under the dial: the liver panel rewritten, everything else (wording,
    history, the other labs) as the build wrote it (the same writer and per-patient seeds).

    Args:
        cohort: the synthetic cohort (`tmiclnet.data.cohort.load`); needs its latents.csv.
        dial: what the note reveals.
    """
    path = Path(cohort.root) / "latents.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing; the note dial needs the synthetic cohort")
    latents = pd.read_csv(path, dtype={"id": str}).set_index("id")
    seed = int(cohort.manifest.get("seed", 0))
    table = dial_clinical(cohort.clinical, latents, dial, seed)
    return {
        pid: write_note(row.to_dict(), stable_seed(pid, seed, "note"))
        for pid, row in table.iterrows()
    }


@dataclass
class _NotesCohort:
    """What `tmiclnet.text.text_inputs` reads of a cohort, with the setting's notes."""

    ids: list[str]
    texts: dict[str, str]
    name: str

    def note(self, pid: str) -> str:
        return self.texts[pid]


def setting_inputs(base: CohortInputs, cohort, dial: NoteDial, run: Run) -> CohortInputs:
    """The base inputs with the text tokens of the setting's notes (CT, radiomics, labels are
    the very tensors of `base`); `info` carries the new notes' content key.

    Args:
        base: every modality's inputs of the cohort as built (`load_inputs`).
        cohort: that cohort.
        dial: the setting.
        run: its profile sets how the notes are encoded.
    """
    from tmiclnet.text import text_inputs

    notes = _NotesCohort(list(cohort.ids), setting_notes(cohort, dial), cohort.name)
    text, info = text_inputs(notes, run.profile)
    return replace(base, text=text, info={**base.info, **info})


def _with_text(fin: FoldInputs, inputs: CohortInputs) -> FoldInputs:
    """The fold's tensors (radiomics already scaled on its training rows) with `inputs`' text."""
    data = TensorData(fin.data.ids, {**fin.data.inputs, **inputs.text}, fin.data.labels)
    return FoldInputs(data, fin.split, fin.rad_families, fin.rad_columns)


def _fixed_models(fins, base: CohortInputs, name: str, run: Run, root: Path, retrain: bool):
    """Train (or read) the CT-only and radiomics-only models exactly as the training page does;
    return each fold's (CT tokens, their source tag) for the fusion models."""
    cached, ct_name, order = ct_plan(run.profile, list(FIXED_MODELS))
    ctx = JobContext(base, name, cached, ct_name, run, root, SINGLE, retrain)
    train_folds(fins, order, ctx, desc=name)
    if not cached:
        return {k: (None, "volumes") for k, _ in fins}
    out = {}
    for k, fin in fins:  # done now: reads ct_tokens.pt (made under that model's key)
        _, tokens, source = train_ct_only(make_job(ct_name, k, fin, None, "volumes", ctx))
        out[k] = (tokens, source)
    return out


def setting_dir(results_dir: str | Path, dial: NoteDial) -> Path:
    """`<results_dir>/fusion_dial/<slug>`: one setting's results folder (kept apart per setting).

    Args:
        results_dir: the results root (`tmiclnet.results.results_root`).
        dial: the setting.
    """
    return Path(results_dir) / STUDY_DIR / slug(dial)


def _share_folds(table: pd.DataFrame, root: Path, name: str, labels, run: Run) -> None:
    """The training page's folds.csv, copied into a setting's folder (checked if present)."""
    path = results.folds_path(root, name)
    if not path.exists():
        atomic_write_text(path, table.to_csv(index=False))
    folds_mod.load_or_make_folds(path, labels, run.profile.folds, run.seed)


def run_dial(
    cohort_path: str | Path,
    run: Run,
    dials: list[NoteDial] | None = None,
    results_dir: str | Path | None = None,
    retrain: bool = False,
) -> pd.DataFrame:
    """Train every model of every setting (or read what is done): one row per (setting, model,
    fold) with the test AUC, and the setting's oracle AUCs.

    Args:
        cohort_path: the synthetic cohort (`data/generated/<profile>/synthetic`).
        run: profile, data folder, seed and device (`tmiclnet.config.setup`).
        dials: the settings (default `dials_for(run.profile.name)`; `[]` trains and returns the
            CT-only and radiomics-only models alone).
        results_dir: the results root (default `<run.data_dir>/results`, the training page's).
        retrain: train even where results with the same key exist.
    """
    from tmiclnet.data.cohort import load

    cohort = load(cohort_path)
    if "model" not in cohort.manifest:
        raise ValueError(f"{cohort.root}: not a synthetic cohort (cohort.json has no 'model')")
    model = SyntheticModel(**cohort.manifest["model"])
    dials = dials_for(run.profile.name) if dials is None else dials
    root = Path(results_dir) if results_dir else results.results_root(run.data_dir)
    base = load_inputs(cohort, run.profile, {"ct", "radiomics", "text"})
    table = folds_mod.load_or_make_folds(
        results.folds_path(root, cohort.name), cohort.labels, run.profile.folds, run.seed
    )
    fins = []
    for k in folds_for(run):
        split = folds_mod.split(table, k, run.profile.val_fraction, run.seed)
        fins.append((k, fold_inputs(base, split, run.profile)))
    tokens = _fixed_models(fins, base, cohort.name, run, root, retrain)
    rows = [_rows(root, cohort.name, m, None, None) for m in FIXED_MODELS]
    rows = [r[r["fold"].isin(folds_for(run))] for r in rows]  # the folds every setting has
    cached = run.profile.ct_strategy is CtStrategy.CACHED
    for dial in tqdm(dials, desc="fusion dial", unit="setting"):
        folder = setting_dir(root, dial)
        _share_folds(table, folder, cohort.name, cohort.labels, run)
        inputs = setting_inputs(base, cohort, dial, run)
        ctx = JobContext(inputs, cohort.name, cached, "ct_only", run, folder, SINGLE, retrain)
        jobs = [
            make_job(name, k, _with_text(fin, inputs), *tokens[k], ctx)
            for k, fin in fins
            for name in NOTE_MODELS
        ]
        train_jobs(jobs, run, SINGLE, desc=slug(dial))
        results.write_json(
            folder / "setting.json",
            {"reads": dial.reads, "strength": dial.strength, "text_key": inputs.info["text_key"]},
        )
        rows += [_rows(folder, cohort.name, m, dial, model) for m in NOTE_MODELS]
    return _expand(pd.concat(rows, ignore_index=True), dials, model)


def _rows(root: Path, cohort: str, name: str, dial, model) -> pd.DataFrame:
    """Per-fold test AUC of one model, tagged with its setting (None: every setting)."""
    auc = fold_metrics(results.load_predictions(root, cohort, name))["auc"]
    out = pd.DataFrame({"model": name, "fold": auc.index, "auc": auc.to_numpy()})
    out["setting"] = None if dial is None else slug(dial)
    return out


def _expand(rows: pd.DataFrame, dials: list[NoteDial], model: SyntheticModel) -> pd.DataFrame:
    """The fixed models' rows repeated under every setting, and each setting's dial and oracle."""
    if not dials:  # only the fixed models were asked for (e.g. to train them ahead)
        return rows
    fixed = rows[rows["setting"].isna()]
    parts = [rows[rows["setting"].notna()]]
    parts += [fixed.assign(setting=slug(d)) for d in dials]
    out = pd.concat(parts, ignore_index=True)
    meta = pd.DataFrame(
        [
            {
                "setting": slug(d),
                "reads": d.reads,
                "strength": d.strength,
                "signal": signal_kind(d),
                "rho": round(d.rho, 4),
                **{f"oracle_{k}": v for k, v in dial_oracle(model, d).items()},
            }
            for d in dials
        ]
    )
    return out.merge(meta, on="setting").sort_values(["strength", "reads", "model", "fold"])


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


# ---------------------------------------------------------------- figures and what they say
LABELS = {
    "ct_only": "CT only",
    "radiomics_only": "radiomics only",
    "text_only": "text only",
    "early_fusion": "early fusion",
    "tmiclnet_tokens": "TMI-CLNet (tokens)",
}
STYLE = {
    "ct_only": ("tab:blue", "o"),
    "radiomics_only": ("tab:orange", "s"),
    "text_only": ("tab:green", "^"),
    "early_fusion": ("tab:purple", "D"),
    "tmiclnet_tokens": ("tab:red", "*"),
}


def _panels(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Complementary and redundant rows, each with the strength-0 setting they share."""
    none = table[table["signal"] == "none"]
    out = {}
    for kind in ("complementary", "redundant"):
        rows = table[table["signal"] == kind]
        if len(rows):
            out[kind] = pd.concat([none, rows]).sort_values("strength")
    return out


def dial_figure(table: pd.DataFrame):
    """AUC (mean ± sd over folds) of every model against the note's strength, one panel per kind
    of signal, with the setting's oracle (all modalities) and the note-alone oracle on top.

    Args:
        table: `summary`'s table.
    """
    import matplotlib.pyplot as plt

    panels = _panels(table)
    # about 4 inches a panel: two panels fill the column (style.COLUMN_PX) barely shrunk
    fig, axes = plt.subplots(1, len(panels), figsize=(4.1 * len(panels), 5.4), squeeze=False)
    for ax, (kind, rows) in zip(axes[0], panels.items()):
        x = rows["strength"].to_numpy()
        ax.plot(x, rows["oracle_all"], "k--", lw=2, label="oracle (all modalities)")
        ax.plot(x, rows["oracle_text"], ":", color="tab:green", lw=2, label="oracle (note alone)")
        span = max(float(x.max() - x.min()), 1.0)
        for j, (name, (color, marker)) in enumerate(STYLE.items()):
            ax.errorbar(
                x + (j - 2) * 0.012 * span, rows[f"{name}_mean"], yerr=rows[f"{name}_sd"],
                color=color, marker=marker, ms=8, capsize=3, lw=1.5, label=LABELS[name],
            )  # fmt: skip
        reads = "its own factor" if kind == "complementary" else "the CT's factor"
        ax.set_title(f"{kind}:\nthe note reads {reads}", fontsize=12)
        ax.set_xlabel("strength of the note's signal", fontsize=11)
        ax.set_ylabel("test AUC (mean ± sd over folds)", fontsize=11)
        ax.axhline(0.5, color="0.6", lw=0.8)
        ax.set_xticks(x)
        ax.tick_params(labelsize=11)
        ax.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncols=3, fontsize=10, frameon=False)
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    return fig


def gain_figure(table: pd.DataFrame):
    """Fusion gain over the best unimodal model per setting (mean ± sd of the per-fold
    differences), beside the oracle's gain: all modalities over the best single one.

    Args:
        table: `summary`'s table.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    x = np.arange(len(table))
    for i, name in enumerate(FUSION):
        color = STYLE[name][0]
        ax.bar(
            x + (i - 0.5) * 0.36, table[f"gain_{name}_mean"], 0.34, yerr=table[f"gain_{name}_sd"],
            color=color, alpha=0.8, capsize=4, label=f"{LABELS[name]} - best unimodal",
        )  # fmt: skip
    ax.hlines(
        oracle_gain(table), x - 0.4, x + 0.4, color="k", lw=2.5, label="oracle: all - best single"
    )
    ax.axhline(0, color="0.3", lw=1)
    ticks = [f"{r.signal}\n{r.reads} {r.strength:g}" for r in table.itertuples()]
    ax.set_xticks(x, ticks, fontsize=11)
    ax.set_ylabel("AUC gain", fontsize=12)
    ax.set_title("What fusion adds over the best single modality", fontsize=13)
    ax.tick_params(axis="y", labelsize=11)
    top = max(
        float(oracle_gain(table).max()),
        float(table[[f"gain_{n}_mean" for n in FUSION]].max().max()),
    )
    ax.set_ylim(top=top * 1.8 + 0.02)
    ax.legend(fontsize=10, loc="upper left")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


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
    for kind, rows in _panels(t).items():
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
