"""Measurements a page cites but a build does not repeat, kept as data with their provenance.

The training page compares the CT encoder's own training with the shared one it replaced. Training
the replaced version again in every build would cost a cold cpu book about 15 minutes, so its
per-fold test AUCs and kept epochs are recorded once (`record`, from a results folder trained with
the shared settings), with the commit, command, date and CPU that produced them, under
`data/measured/`. The page reads the record (`load`) and, when this build's folds are the
recorded folds (same patients, labels and fold numbers, checked by a fingerprint), pairs them with
this build's fold AUCs for a corrected interval; otherwise it shows the record unpaired and says
why. Nothing in the page's sentences is typed by hand.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tmiclnet import results
from tmiclnet.config import project_root
from tmiclnet.evaluate import metrics
from tmiclnet.evaluate.repeats import corrected_t_interval, fit_ratio
from tmiclnet.evaluate.tables import format_p
from tmiclnet.inputs.folds import repeat_seed
from tmiclnet.provenance import atomic_write_text

MEASURED_DIR = project_root() / "data" / "measured"
# the CT-only model and the models that read its tokens in the repeated cross-validation
TOKEN_MODELS = ("ct_only", "early_fusion", "late_fusion", "no_tmff", "tmiclnet_tokens")


def folds_fingerprint(results_dir: str | os.PathLike, cohort: str, repeat: int) -> str:
    """sha256 (16 hex) of one repeat's folds as (id, label, fold), sorted: equal only for the same
    patients, labels and fold numbers.

    Args:
        results_dir: the results root (`tmiclnet.results.results_root`).
        cohort: the cohort's name.
        repeat: the repeat whose folds.csv to read.
    """
    folds = results.read_folds(results.run_dir(results_dir, repeat), cohort)
    rows = folds[["id", "label", "fold"]].astype(str).sort_values(["id"]).to_csv(index=False)
    return hashlib.sha256(rows.encode()).hexdigest()[:16]


def fold_rows(
    results_dir: str | os.PathLike, cohort: str, models: list[str], repeats: list[int]
) -> pd.DataFrame:
    """One row per (cohort, repeat, fold, model): the test AUC, the epoch kept, the epochs run
    and the folds' fingerprint (`folds_fingerprint`).

    Args:
        results_dir: the results root.
        cohort: the cohort's name.
        models: catalogue names (each trained in every repeat).
        repeats: the repeats to read.
    """
    rows = []
    for r in repeats:
        where = results.run_dir(results_dir, r)
        stamp = folds_fingerprint(results_dir, cohort, r)
        for m in models:
            aucs = metrics.fold_metrics(results.load_predictions(where, cohort, m))["auc"]
            for k, folder in results.finished_folds(where, cohort, m).items():
                done = results.read_done(folder)
                rows.append(
                    {"cohort": cohort, "repeat": r, "fold": k, "model": m,
                     "auc": round(float(aucs.loc[k]), 6), "kept_epoch": done.best_epoch,
                     "epochs": done.timing.get("epochs"), "folds_sha": stamp}
                )  # fmt: skip
    return pd.DataFrame(rows)


def record(
    name: str,
    frame: pd.DataFrame,
    what: str,
    command: str,
    commit: str,
    out_dir: Path | None = None,
) -> Path:
    """Write `<name>.csv` and `<name>.json` (what, command, commit, date, CPU) atomically.

    Args:
        name: the record's file stem.
        frame: the rows (`fold_rows`).
        what: one sentence on what was measured and with which settings.
        command: the command that trained the results read.
        commit: the commit it ran at.
        out_dir: default `data/measured/`.
    """
    import datetime

    out = Path(out_dir or MEASURED_DIR)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / f"{name}.csv", frame.to_csv(index=False))
    meta = {
        "what": what,
        "command": command,
        "commit": commit,
        "date": datetime.date.today().isoformat(),
        "cpu": platform.processor() or platform.machine(),
        "rows": len(frame),
    }
    atomic_write_text(out / f"{name}.json", json.dumps(meta, indent=2) + "\n")
    return out / f"{name}.csv"


@dataclass(frozen=True)
class Record:
    """A recorded measurement: its rows and where they came from."""

    rows: pd.DataFrame
    meta: dict


def load(name: str, where: Path | None = None) -> Record:
    """The record `name` (`record`); a one-line error naming the file when it is absent.

    Args:
        name: the record's file stem under `where`.
        where: default `data/measured/`.
    """
    base = Path(where or MEASURED_DIR)
    csv, meta = base / f"{name}.csv", base / f"{name}.json"
    for path in (csv, meta):
        if not path.exists():
            raise FileNotFoundError(f"{path}: missing; the book's data folder is incomplete")
    return Record(pd.read_csv(csv), json.loads(meta.read_text()))


def kept_counts(rows: pd.DataFrame, model: str = "ct_only") -> dict[str, float]:
    """Of `model`'s folds in `rows` (`fold_rows` or a record's rows): how many kept epoch 0,
    epoch 0 or 1, in all, and the mean number of epochs run."""
    one = rows[rows["model"] == model]
    kept = one["kept_epoch"]
    return {"epoch 0": int((kept == 0).sum()), "epoch 0 or 1": int((kept <= 1).sum()),
            "folds": int(kept.size), "epochs run": float(one["epochs"].mean())}  # fmt: skip


def versus_now(
    rec: Record,
    results_dir: str | os.PathLike,
    cohort: str,
    models: list[str],
    val_fraction: float,
    seed: int,
) -> pd.DataFrame:
    """Per model: the record's mean AUC, this build's on the same folds, and the paired change
    now − recorded with its corrected interval, where every recorded fold's folds are this
    build's (the fingerprint); otherwise the change is left empty and `paired` says no.

    Args:
        rec: the record (`load`).
        results_dir: this build's results root.
        cohort: the cohort's name.
        models: the models to compare.
        val_fraction: the profile's validation share (n_fit for the corrected interval).
        seed: the run's seed (repeat r's split is drawn with `repeat_seed(seed, r)`).
    """
    old = rec.rows[rec.rows["cohort"] == cohort]
    repeats = sorted(old["repeat"].unique())
    same = all(
        results.folds_path(results.run_dir(results_dir, r), cohort).exists()
        and folds_fingerprint(results_dir, cohort, r)
        == old.loc[old["repeat"] == r, "folds_sha"].iloc[0]
        for r in repeats
    )
    now = fold_rows(results_dir, cohort, models, repeats) if same else None
    ratio = 0.0
    if same:
        ratio = sum(
            fit_ratio(results.read_folds(results.run_dir(results_dir, r), cohort), val_fraction,
                      repeat_seed(seed, r))
            for r in repeats
        ) / len(repeats)  # fmt: skip
    rows = []
    for m in models:
        before = old[old["model"] == m].set_index(["repeat", "fold"])["auc"]
        row = {"model": m, "recorded": before.mean(), "now": float("nan"), "paired": same}
        if same:
            after = now[now["model"] == m].set_index(["repeat", "fold"])["auc"]
            both = pd.concat([before, after], axis=1, keys=["b", "a"]).dropna()
            d, lo, hi, p = corrected_t_interval(both["a"] - both["b"], ratio)
            row.update(now=both["a"].mean(), change=d, low=lo, high=hi, p=p, folds=len(both))
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


def display_change(change: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """`versus_now` as strings for the page: recorded, now, and the paired change [interval].

    Args:
        change: `versus_now`'s table.
        digits: decimals shown.
    """
    f = f"{{:.{digits}f}}"
    out = pd.DataFrame(index=change.index)
    out["before"] = change["recorded"].map(f.format)  # the record; the page says so
    if change["paired"].all():
        out["now"] = change["now"].map(f.format)
        out["now − before [95%]"] = [
            f"{d:+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}]"
            for d, lo, hi in zip(change["change"], change["low"], change["high"])
        ]
        out["p"] = change["p"].map(format_p)
        out["folds"] = change["folds"].astype(int)
    return out


def ct_record_note(design: Record, shared: Record) -> str:
    """The training page's note under the CT design table: where both records come from and how
    often the shared training kept an early epoch (Markdown, from the records themselves).

    Args:
        design: the `ct_design` record.
        shared: the `ct_shared_training` record.
    """
    kept = kept_counts(shared.rows)
    return (
        f"*{design.meta['what']} Measured at commit `{design.meta['commit']}` on "
        f"{design.meta['date']}.*\n\n"
        f"Under the shared training the CT-only model kept the weights of epoch 0 in "
        f"{kept['epoch 0']} and of epoch 0 or 1 in {kept['epoch 0 or 1']} of its "
        f"{kept['folds']} folds, after {kept['epochs run']:.1f} epochs on average (recorded at "
        f"commit `{shared.meta['commit']}` on {shared.meta['date']}, "
        "`data/measured/ct_shared_training.csv`). Which epoch this build's CT-only model kept, "
        "and what it reaches, follow the training below."
    )


def ct_lr_note(rec: Record) -> str:
    """The training page's note under the learning-rate table: how many folds' trainings died at
    each rate, over both cohorts and every seed (Markdown, from the record itself).

    Args:
        rec: the `ct_lr` record (`python -m tmiclnet study ct-lr --record`).
    """
    rows = rec.rows.assign(rate=rec.rows["peak lr"].astype(float))
    per_rate = rows.groupby("rate")[["collapsed folds", "folds"]].sum().sort_index(ascending=False)
    counts = "; ".join(
        f"at {rate:g}, {int(r['collapsed folds'])} of {int(r['folds'])}"
        for rate, r in per_rate.iterrows()
    )
    return (
        f"*{rec.meta['what']} Measured at commit `{rec.meta['commit']}` on {rec.meta['date']} "
        f"(`{rec.meta['command']}`).*\n\n"
        f"Folds whose training died, over both cohorts and both seeds: {counts}."
    )
