"""The introduction's box of answers: saved by the pages, collected at staging, never typed."""

import pandas as pd
import pytest

from tmiclnet.book import findings
from tmiclnet.config import project_root
from tmiclnet.evaluate.repeats import RepeatReport, summary_table


def test_the_real_introduction_has_the_marker():
    assert findings.MARKER in (project_root() / "book" / "intro.md").read_text()


def test_box_collects_saved_answers_and_names_the_missing(tmp_path):
    findings.save(tmp_path, "fusion_pbc", "yes:\n  the interval excludes 0.")
    boxed = findings.box(tmp_path, "cpu")
    assert "**Does fusion help on PBC?** yes: the interval excludes 0." in boxed
    assert "**When does fusion help?** Not built in this profile." in boxed
    page = findings.insert(f"# Title\n\n{findings.MARKER}\n\ntext", boxed)
    assert findings.MARKER not in page and "admonition" in page
    # a backtick fence's info string may not hold a backtick (CommonMark): the title has none
    assert "`" not in boxed.splitlines()[0].removeprefix("```")
    with pytest.raises(ValueError, match="marker"):
        findings.insert("# no marker", boxed)
    with pytest.raises(ValueError, match="unknown finding"):
        findings.save(tmp_path, "typo", "x")


def report(main_shift):
    rows = []
    for k in range(10):
        r, f = divmod(k, 5)
        base = 0.80 + 0.01 * (k % 3)
        rows += [(r, f, "text_only", base), (r, f, "ct_only", 0.6),
                 (r, f, "tmiclnet_tokens", base + main_shift + 0.005 * (k % 2))]  # fmt: skip
    aucs = pd.DataFrame(rows, columns=["repeat", "fold", "model", "auc"])
    return RepeatReport("pbc", [0, 1], 5, 0.3125, aucs, summary_table(aucs, 0.3125), None)


@pytest.mark.parametrize(
    "shift, verdict", [(0.05, "Yes"), (-0.05, "No, it does worse"), (0.0, "Not measurably")]
)
def test_fusion_answer_follows_the_interval(shift, verdict):
    text = findings.fusion_answer(report(shift))
    assert text.startswith(verdict)
    assert "text_only" in text  # the best single modality, chosen from the data


def test_leakage_answer_reads_the_released_rows():
    rows = []
    for kind, infl in (("real", 0.04), ("permuted", 0.08)):
        for metric in ("auc", "accuracy"):
            rows.append({"kind": kind, "protocol": "released", "metric": metric, "value": 0.6,
                         "inflation": infl, "lo": infl - 0.02, "hi": infl + 0.02,
                         "interval": "t across 20 labellings"})  # fmt: skip
    text = findings.leakage_answer(pd.DataFrame(rows))
    assert "on the real labels its within-fold AUC is 0.600, +0.040 [+0.020, +0.060]" in text
    assert "on permuted labels" in text and "+0.080" in text
    assert findings.leakage_answer(pd.DataFrame(rows).assign(protocol="x")).startswith("No answer")


def test_leakage_answer_on_permuted_labels_falls_back_to_stop_on_test():
    rows = []
    for kind, protocol, infl in (("real", "released", 0.04), ("permuted", "stop on test", 0.07)):
        for metric in ("auc", "accuracy"):
            rows.append({"kind": kind, "protocol": protocol, "metric": metric, "value": 0.57,
                         "inflation": infl, "lo": infl - 0.02, "hi": infl + 0.02,
                         "interval": "t across 20 labellings"})  # fmt: skip
    text = findings.leakage_answer(pd.DataFrame(rows))
    assert "on the real labels its within-fold AUC is 0.570, +0.040" in text
    assert "on permuted labels stop on test's (the one switch of it that reads labels)" in text
    assert "+0.070 [+0.050, +0.090]" in text
