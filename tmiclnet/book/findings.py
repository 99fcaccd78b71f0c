"""The book's three answers, in one box at the top of the introduction, from this build's numbers.

The pages that establish each answer (09 evaluation, 10 when fusion helps, 11 the released
protocol) state it at their end and save the same sentence here (`save`), under the results
folder of the profile that built them. When the book is staged, `box` collects them into an
admonition that replaces the marker in `book/intro.md` (`insert`); a page not built in this
profile says so instead of showing a number. So the introduction never holds a hand-typed result.
"""

from __future__ import annotations

import os
from pathlib import Path

from tmiclnet import results
from tmiclnet.evaluate.repeats import RepeatReport, best_unimodal
from tmiclnet.provenance import atomic_write_text

MARKER = "<!-- findings: generated when the book is staged (tmiclnet.book.findings) -->"
# key: (question, page that shows the evidence)
QUESTIONS = {
    "fusion_pbc": ("Does fusion help on PBC?", "../notebooks/09_evaluation"),
    "fusion_when": ("When does fusion help?", "../notebooks/10_when_fusion_helps"),
    "leakage": ("What does a leaky protocol report?", "../notebooks/11_released_protocol"),
}


def folder(data_dir: str | os.PathLike) -> Path:
    """`<results>/findings/` of a profile's data folder."""
    return results.results_root(data_dir) / "findings"


def save(data_dir: str | os.PathLike, key: str, text: str) -> Path:
    """Write one answer (Markdown, one paragraph) for the introduction's box.

    Args:
        data_dir: the run's data folder (``run.data_dir``).
        key: one of `QUESTIONS`.
        text: the answer, generated from the page's numbers.
    """
    if key not in QUESTIONS:
        raise ValueError(f"unknown finding {key!r}; choose one of {sorted(QUESTIONS)}")
    path = folder(data_dir) / f"{key}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, " ".join(text.split()) + "\n")
    return path


def box(data_dir: str | os.PathLike, profile: str) -> str:
    """The admonition: each question, its saved answer and a link to its evidence."""
    lines = [
        f"```{{admonition}} What this book finds (profile {profile}, from this build's numbers)",
        ":class: tip",
        "",
    ]
    for key, (question, page) in QUESTIONS.items():
        path = folder(data_dir) / f"{key}.md"
        answer = path.read_text().strip() if path.exists() else "Not built in this profile."
        lines.append(f"- **{question}** {answer} ({{doc}}`evidence <{page}>`)")
    if profile == "quick":
        lines += ["", "*Profile `quick` trains on 40 patients for 2 epochs: these sentences show "
                  "how the answers are drawn, not results; build the `cpu` profile.*"]  # fmt: skip
    return "\n".join([*lines, "```"])


def insert(page: str, boxed: str) -> str:
    """`page` with its marker replaced by `boxed`; a page without the marker is refused."""
    if MARKER not in page:
        raise ValueError(f"the introduction lacks the findings marker {MARKER!r}")
    return page.replace(MARKER, boxed)


def fusion_answer(rep: RepeatReport, main: str = "tmiclnet_tokens") -> str:
    """Does fusion help on this cohort: the main model against the best single modality, with the
    corrected interval of the paired difference over the repeated cross-validation.

    Args:
        rep: the cohort's `RepeatReport` (`tmiclnet.evaluate.repeats.evaluate_repeats`).
        main: the fusion model the answer is about.
    """
    s, best = rep.summary, best_unimodal(rep)
    if main not in s.index or best is None:
        return f"No answer: {main} or a unimodal model is missing from the repeated CV."
    n = len(rep.repeats) * rep.n_folds
    d, lo, hi = (float(s.loc[best, c]) for c in ("diff", "diff_low", "diff_high"))
    if lo > 0:
        verdict = "Yes: the interval excludes 0"
    elif hi < 0:
        verdict = "No, it does worse: the interval excludes 0"
    else:
        verdict = "Not measurably: the interval includes 0"
    return (
        f"{verdict}. TMI-CLNet (tokens) {s.loc[main, 'auc_mean']:.3f} against the best single "
        f"modality, {best}, {s.loc[best, 'auc_mean']:.3f}: Δ AUC {d:+.3f} [{lo:+.3f}, {hi:+.3f}] "
        f"(corrected 95 % interval, {n} test folds)."
    )


def leakage_answer(table, protocol: str = "released", fallback: str = "stop on test") -> str:
    """What the released protocol reports above ours, within-fold AUC and accuracy, on real and on
    permuted labels, each with its interval (`tmiclnet.study.leakage.power.inflation_table`).

    On permuted labels the study runs only the protocols that read labels
    (`tmiclnet.study.leakage.protocols.LABEL_READING`); there the answer names `fallback`, the
    release's one switch that reads labels, and says so.

    Args:
        table: the inflation table (one row per model, kind, protocol and metric).
        protocol: the leaky protocol the answer is about.
        fallback: the protocol read where `protocol` has no rows for a kind of labels.
    """
    parts = []
    for kind, where in (("real", "on the real labels"), ("permuted", "on permuted labels")):
        rows, said = table[(table["kind"] == kind) & (table["protocol"] == protocol)], "its"
        if rows.empty:
            rows = table[(table["kind"] == kind) & (table["protocol"] == fallback)]
            said = f"{fallback}'s (the one switch of it that reads labels)"
        if rows.empty:
            continue
        by = rows.set_index("metric")
        auc, acc = by.loc["auc"], by.loc["accuracy"]
        parts.append(
            f"{where} {said} within-fold AUC is {auc['value']:.3f}, {auc['inflation']:+.3f} "
            f"[{auc['lo']:+.3f}, {auc['hi']:+.3f}] against ours, and its accuracy "
            f"{acc['inflation']:+.3f} [{acc['lo']:+.3f}, {acc['hi']:+.3f}] ({auc['interval']})"
        )
    if not parts:
        return f"No answer: the study has no {protocol!r} rows."
    return f"The {protocol} protocol (stop on test, scaler on all, unstratified folds): " + (
        "; ".join(parts) + "."
    )
