"""Reading problems of a built book a machine can find: a static check of `_build/html`.

`python -m tmiclnet book check _build/quick/_build/html` reads every page and prints one line per
problem (page: rule: what), exiting 1 if there is any. The rules, each a mechanical stand-in for
"a reader at 1280 px sees it whole":

- **maths**: a display equation has a line (between `\\\\` breaks) of more than `MATH_CHARS`
  visible symbols; MathJax does not wrap display maths, so such a line is clipped or scrolls;
- **table**: a table's narrowest possible width (per column its widest unbreakable cell text,
  `CHAR_PX` per character plus `CELL_PAD_PX`) exceeds `COLUMN_PX`; tables in cell outputs do not
  wrap cells (book/_static/tmiclnet.css), so their whole cell text counts;
- **marker**: a test or lint marker (`# NBVAL_...`, `# noqa`) is shown on the page, in a code
  cell or in inline code (the API page's docstrings included);
- **path**: a cell output shows a machine path (the checkout, $HOME, /tmp, /home, /work, ...);
- **exercises**: a notebook page (built from `notebooks/`) lacks a section titled "Exercises"
  with 2 to 4 exercises, each followed by its solution;
- **assert**: a code cell whose input is shown holds an `assert` (a page's own checks, and the
  code that writes its prose, go in cells tagged `remove-input` or `hide-input`);
- **claims**: a sentence of a claims block (`tmiclnet.claims.Claims`) states a number its table
  does not show;
- **glossary**: a page uses a term of `tmiclnet.book.glossary.TERMS` the glossary does not define.

No browser needed: it runs wherever `make test` does, next to `tmiclnet.book.links`.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from bs4 import BeautifulSoup

from tmiclnet import claims
from tmiclnet.book.glossary import check_glossary

COLUMN_PX = 688  # room for a table at a 1280 px window (column 752 px less padding, measured)
CHAR_PX = 8.5  # a character of table text at the theme's 16 px font (8-9 px, measured)
CELL_PAD_PX = 16.0  # left + right padding of one table cell
MATH_CHARS = 60  # visible symbols one display-maths line holds at the column's width
EXERCISES = (2, 4)  # how many exercises a notebook page ends with
MARKERS = re.compile(r"#\s*(NBVAL_\w+|noqa\b)", re.IGNORECASE)
PATH_ROOTS = r"(?:home|tmp|work|Users|root|mnt|private|var/folders)"
MACHINE_PATH = re.compile(rf"(?<![\w.~<>-])/{PATH_ROOTS}/[\w.-]+")
ASSERT = re.compile(r"^\s*assert\b", re.MULTILINE)
SKIPPED_DIRS = {"_static", "_sources", "_images", "_downloads", "genindex", "search"}

# TeX that takes no width of its own: layout commands, font switches, spacing, delimiters' sizes
_INVISIBLE = re.compile(
    r"\\(?:left|right|big|Big|bigg|Bigg|mathrm|mathbf|mathcal|mathit|operatorname|text|textrm"
    r"|tfrac|dfrac|frac|begin|end|quad|qquad|displaystyle|limits|nonumber|notag|hat|bar|tilde)"
    r"(?![A-Za-z])|\\[,;:!]"
)
_LAYOUT = re.compile(r"[{}&^_\s]")
_COMMAND = re.compile(r"\\[A-Za-z]+")  # any other command (\alpha, \log, \sum): one symbol


def math_width(tex: str) -> int:
    """Visible symbols of one line of TeX: a command such as `\\alpha` or `\\log` counts 1,
    layout and font commands, braces, alignment marks and spaces count 0.

    Args:
        tex: one line of a display equation (no `\\\\` inside).
    """
    tex = re.sub(r"\\(?:begin|end)\{[^}]*\}", "", tex)
    tex = _COMMAND.sub("#", _INVISIBLE.sub("", tex))
    return len(_LAYOUT.sub("", tex))


def check_maths(soup: BeautifulSoup) -> list[str]:
    """Display equations with a line wider than the column (see the module's rule)."""
    problems = []
    for node in soup.select("div.math"):
        tex = node.get_text().strip()
        tex = tex.removeprefix("\\[").removesuffix("\\]")
        for line in re.split(r"\\\\", tex):
            width = math_width(line)
            if width > MATH_CHARS:
                shown = " ".join(line.split())[:60]
                problems.append(
                    f"maths: a display line of {width} symbols (> {MATH_CHARS}; break it with "
                    f"aligned and \\\\): {shown}..."
                )
    return problems


def _cell_width(cell, whole: bool) -> float:
    text = " ".join(cell.get_text(" ").split())
    longest = len(text) if whole else max((len(w) for w in text.split()), default=0)
    return longest * CHAR_PX + CELL_PAD_PX


def table_width(table) -> float:
    """The narrowest width in px the table can take (sum over columns of its widest cell;
    cells of an output table never wrap, a prose table's wrap at spaces).

    Args:
        table: a bs4 `<table>` element.
    """
    whole = (
        "dataframe" in (table.get("class") or [])
        or table.find_parent("div", class_="cell_output") is not None
    )
    widths: dict[int, float] = {}
    pending: dict[int, int] = {}  # column -> rows still covered by a cell above (rowspan)
    for row in table.find_all("tr"):
        col = 0
        for cell in row.find_all(["td", "th"], recursive=False):
            while pending.get(col, 0) > 0:  # a row-spanning cell above holds this column
                col += 1
            span = int(cell.get("colspan", 1) or 1)
            down = int(cell.get("rowspan", 1) or 1)
            w = _cell_width(cell, whole) / span
            for k in range(col, col + span):
                widths[k] = max(widths.get(k, 0.0), w)
                if down > 1:
                    pending[k] = down  # counted down below, this row included
            col += span
        pending = {k: n - 1 for k, n in pending.items() if n > 1}
    return sum(widths.values())


def check_tables(soup: BeautifulSoup) -> list[str]:
    """Tables that cannot fit the column (see the module's rule)."""
    problems = []
    for table in soup.find_all("table"):
        width = table_width(table)
        if width > COLUMN_PX:
            head = " | ".join(" ".join(c.get_text(" ").split())[:20] for c in table.find_all("th"))
            problems.append(
                f"table: needs {width:.0f} px (> {COLUMN_PX}); shorten labels or drop "
                f"columns: {head[:80]}"
            )
    return problems


def check_markers(soup: BeautifulSoup) -> list[str]:
    """Test and lint markers shown in code cells or outputs."""
    found = set()
    # code cells, and inline code anywhere (an API entry quoting a runner's marker counts too)
    for node in soup.select("div.cell, div.highlight, pre, code"):
        found.update(m.group(0) for m in MARKERS.finditer(node.get_text()))
    return [f"marker: {m!r} is shown on the page" for m in sorted(found)]


def check_paths(soup: BeautifulSoup, extra: tuple[str, ...] = ()) -> list[str]:
    """Machine paths in cell outputs: common absolute roots, plus `extra` (checkout, $HOME)."""
    found = set()
    for node in soup.select("div.cell_output"):
        text = node.get_text()
        found.update(m.group(0) for m in MACHINE_PATH.finditer(text))
        found.update(p for p in extra if p and p in text)
    return [f"path: the output shows the machine path {p!r}" for p in sorted(found)]


def check_asserts(soup: BeautifulSoup) -> list[str]:
    """`assert` lines in code cells whose input a reader sees (not removed, not behind a toggle)."""
    problems = []
    for node in soup.select("div.cell_input"):
        if node.find_parent("details") is not None:
            continue
        for line in node.get_text().splitlines():
            if ASSERT.match(line):
                problems.append(f"assert: a shown code cell holds {line.strip()[:70]!r}")
    return problems


def check_claims(soup: BeautifulSoup) -> list[str]:
    """Claims blocks whose sentences state a number their table does not show."""
    problems = []
    for block in soup.select("div.claims"):
        said = " ".join(p.get_text(" ") for p in block.select(".claims-text"))
        rest = " ".join(
            n.get_text(" ")
            for n in block.find_all(["table", "p"])
            if "claims-text" not in (n.get("class") or [])
        )
        missing = claims.unshown(said, rest)
        if missing:
            problems.append(
                f"claims: a sentence states {', '.join(missing)}, not shown in its table: "
                f"{' '.join(said.split())[:70]}..."
            )
    return problems


def check_exercises(soup: BeautifulSoup) -> list[str]:
    """A notebook page must end with a section "Exercises" of 2-4 exercises, each solved."""
    low, high = EXERCISES
    section = next(
        (
            s
            for s in soup.find_all("section")
            if (h := s.find(["h2", "h3"])) and h.get_text(strip=True).rstrip("#¶") == "Exercises"
        ),
        None,
    )
    if section is None:
        return ['exercises: no section titled "Exercises"']
    exercises = section.select("div.exercise")
    solutions = section.select("div.solution")
    problems = []
    if not low <= len(exercises) <= high:
        problems.append(f"exercises: {len(exercises)} exercises (want {low} to {high})")
    if len(solutions) < len(exercises):
        problems.append(f"exercises: {len(exercises)} exercises but {len(solutions)} solutions")
    return problems


def check_page(html: str, notebook: bool, extra_paths: tuple[str, ...] = ()) -> list[str]:
    """Every problem of one page, one line each (without the page's name).

    Args:
        html: the page's HTML.
        notebook: whether the page is built from a notebook (the exercises rule applies).
        extra_paths: machine paths beyond the common roots (the checkout, $HOME).
    """
    soup = BeautifulSoup(html, "html.parser")
    main = soup.select_one("main, article, div.bd-article") or soup
    problems = check_maths(main) + check_tables(main) + check_markers(main)
    problems += check_paths(main, extra_paths) + check_asserts(main) + check_claims(main)
    if notebook:
        problems += check_exercises(main)
    return problems


def check_site(html_dir: Path, extra_paths: tuple[str, ...] = ()) -> list[str]:
    """Every problem of every page of a built site, as `page: problem` lines.

    Args:
        html_dir: the site's `_build/html` folder.
        extra_paths: machine paths beyond the common roots (the checkout, $HOME).
    """
    lines, pages = [], []
    for page in sorted(html_dir.rglob("*.html")):
        rel = page.relative_to(html_dir)
        if rel.parts[0] in SKIPPED_DIRS or rel.stem in SKIPPED_DIRS:
            continue
        pages.append(rel)
        notebook = rel.parts[0] == "notebooks"
        for problem in check_page(page.read_text(errors="replace"), notebook, extra_paths):
            lines.append(f"{rel}: {problem}")
    return lines + check_glossary(
        html_dir, [p for p in pages if p.parts[0] in ("notebooks", "book")]
    )


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print("usage: python -m tmiclnet book check <_build/html folder>", file=sys.stderr)
        return 2
    root = str(Path(__file__).resolve().parents[2])
    problems = check_site(Path(argv[0]), (root, os.path.expanduser("~")))
    for line in problems:
        print(line)
    pages = len(list(Path(argv[0]).rglob("*.html")))
    print(f"book_check: {len(problems)} problem(s) in {argv[0]} ({pages} pages)", file=sys.stderr)
    return 1 if problems else 0
