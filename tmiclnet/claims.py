"""Sentences and the table they describe, made from one source and checked against each other.

A page that states a result in words must say what its table shows. Both are therefore built
from one DataFrame, formatted once: the sentences quote the formatted cells (and counts the
caption states), and `Claims` refuses to exist when a sentence holds a number the table, its
labels or its caption do not show. The rendered block (`<div class="claims">`) keeps the two
together on the page, and `python -m tmiclnet book check` re-reads every such block of a built
site with the same rule (`unshown`), so a page whose prose drifts from its table fails `make
test` even if it was built some other way.

A number matches when its digits match as written ("0.853" is not "0.85"); its sign is ignored,
so a sentence may say "lowers the AUC by 0.04" of a cell "-0.04". Numbers that are not results
(five years, 10 HU) belong in the page's Markdown, not in a claims block.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import pandas as pd

# a number as a page writes it: optional sign (ASCII or Unicode minus), digits, thousands commas,
# decimals; not the digit of a name such as `w2` or `fold_3`
NUMBER = re.compile(
    r"(?<![\w.])[-+\u2212]?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w])|(?<![\w.])[-+\u2212]?\d+(?:\.\d+)?(?![\w])"
)


def numbers(text: str) -> set[str]:
    """The numbers written in a text, without sign or thousands commas ("-1,781" -> "1781").

    Args:
        text: any text (a sentence, a cell, a caption).
    """
    return {m.group(0).lstrip("+-\u2212").replace(",", "") for m in NUMBER.finditer(text)}


def unshown(sentences: str, shown: str) -> list[str]:
    """The numbers of `sentences` that `shown` does not contain, sorted.

    Args:
        sentences: the prose that states the results.
        shown: everything the table shows: cells, labels, caption.
    """
    return sorted(numbers(sentences) - numbers(shown))


def _table_text(table: pd.DataFrame) -> str:
    parts = [str(c) for c in table.columns] + [str(i) for i in table.index]
    parts += [str(v) for v in table.to_numpy().ravel()]
    return " | ".join(parts)


def _inline(text: str) -> str:
    """The little Markdown sentences use (**bold**, `code`) as HTML, everything else escaped."""
    out = html.escape(text, quote=False)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", out)


@dataclass
class Claims:
    """Sentences about a table, shown with it; raises ValueError when they disagree.

    Display it as a cell's last expression: the table, its caption, then the sentences.

    Args:
        table: the table as the page shows it (format numbers before: the sentences quote them).
        sentences: what the table says, each quoting the formatted cells or the caption.
        caption: one line under the table (counts the sentences quote: "12 of 19 families ...").
        index: whether to show the table's index.
    """

    table: pd.DataFrame
    sentences: list[str] = field(default_factory=list)
    caption: str = ""
    index: bool = True

    def __post_init__(self) -> None:
        missing = self.unshown()
        if missing:
            raise ValueError(
                f"a sentence states {', '.join(missing)}, which its table does not show: "
                f"{' '.join(self.sentences)[:200]}"
            )

    def shown_text(self) -> str:
        """Everything the block shows beside its sentences: the table's cells, labels, caption."""
        return _table_text(self.table) + " | " + self.caption

    def unshown(self) -> list[str]:
        """Numbers the sentences state that the table and caption do not show."""
        return unshown(" ".join(self.sentences), self.shown_text())

    def markdown(self) -> str:
        """The sentences alone, as Markdown (for a page that shows the table elsewhere)."""
        return " ".join(self.sentences)

    def _repr_html_(self) -> str:
        table = self.table.to_html(index=self.index, escape=True, classes="dataframe")
        caption = f'<p class="claims-caption">{_inline(self.caption)}</p>' if self.caption else ""
        text = " ".join(_inline(s) for s in self.sentences)
        return f'<div class="claims">{table}{caption}<p class="claims-text">{text}</p></div>'
