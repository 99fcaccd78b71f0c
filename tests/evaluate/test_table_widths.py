"""The evaluation page's tables fit the book's column at 1280 px (the page check's own measure),
with the longest model names of the catalogue and the references in them."""

from __future__ import annotations

import pandas as pd
from bs4 import BeautifulSoup

from tests.evaluate.fakes import fake_results
from tmiclnet import results
from tmiclnet.book.check import COLUMN_PX, table_width
from tmiclnet.evaluate import tables

# the longest names a table row can carry, beside the model every table is compared to
LONG_NAMES = (
    "tmiclnet_tokens",
    "logreg_note_fields",
    "logreg_image_fields",
    "tmiclnet_released",
    "logreg_clinical",
    "mayo_risk",
    "no_tmff",
)


def _width(table: pd.DataFrame) -> float:
    html = table.to_html(classes="dataframe")
    return table_width(BeautifulSoup(html, "html.parser").find("table"))


def test_comparison_differences_and_ablation_fit_the_column(tmp_path) -> None:
    fake_results(tmp_path, models=LONG_NAMES)
    preds = {m: results.load_predictions(tmp_path, "toy", m) for m in LONG_NAMES}
    shown = {
        "comparison": tables.comparison(preds),
        "differences": tables.auc_differences(preds, n_boot=20),
        "ablation": tables.ablation(preds, n_boot=20),
    }
    for name, table in shown.items():
        assert _width(table) <= COLUMN_PX, f"{name}: {_width(table):.0f} px\n{table}"
    # and the check measures something: the old paper label alone made the first column too wide
    wide = shown["comparison"].rename(
        index={tables.PAPER_ROW: "TMI-CLNet, paper (private cohort, n=184; not comparable)"}
    )
    assert _width(wide) > COLUMN_PX
