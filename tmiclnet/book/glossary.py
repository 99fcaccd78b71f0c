"""The book's technical terms, and the check that the glossary defines every one a page uses.

A student meets "Brier score" or "corrected resampled t" on a page and looks it up; if the
glossary lacks it, the page has used a word it never explained. `TERMS` lists each term the
book's pages may use (its glossary heading, and a pattern for how pages write it);
`check_glossary` reads a built site and reports every term a page uses that the glossary page
does not define, and `undefined` does the same for the glossary's Markdown source, so a unit
test holds `book/glossary.md` to the list without a build. A new term goes into `TERMS` and into
`book/glossary.md` together.
"""

from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup

GLOSSARY_PAGE = "book/glossary.html"

# glossary heading -> how a page writes it (a regex; acronyms are matched case-sensitively)
TERMS: dict[str, str] = {
    "Ablation": r"(?i)\bablations?\b",
    "Attention": r"(?i)\battention\b",
    "Attention pooling": r"(?i)\battention pooling\b",
    "AUC": r"\bAUCs?\b",
    "Bootstrap": r"(?i)\bbootstrap(?:ped|s)?\b",
    "Brier score": r"(?i)\bBrier\b",
    "Calibration": r"(?i)\bcalibrat(?:ion|ed)\b",
    "Censoring": r"(?i)\bcensor(?:ing|ed)\b",
    "Corrected resampled t": r"(?i)\bcorrected resampled\b|\bNadeau\b",
    "Cox partial likelihood": r"(?i)\bCox\b",
    "Cross-attention": r"(?i)\bcross-attention\b",
    "Cross-validation": r"(?i)\bcross-validation\b",
    "Decision curve": r"(?i)\bdecision[- ]curves?\b|\bnet benefit\b",
    "Early fusion": r"(?i)\bearly fusion\b",
    "Early stopping": r"(?i)\bearly stopping\b",
    "Encoder": r"(?i)\bencoders?\b",
    "Frozen encoder": r"(?i)\bfrozen\b",
    "Harrell's C": r"(?i)\bHarrell(?:'|’)?s?\b",
    "ICC": r"\bICC\b",
    "IMA": r"\bIMA\b",
    "Integrated gradients": r"(?i)\bintegrated gradients\b",
    "Kaplan-Meier": r"(?i)\bKaplan-Meier\b",
    "Late fusion": r"(?i)\blate fusion\b",
    "Leakage": r"(?i)\bleak(?:age|y|s|ed)?\b",
    "Line tokens": r"(?i)\bline tokens?\b",
    "Logit": r"(?i)\blogits?\b",
    "Modality": r"(?i)\bmodality\b|\bmodalities\b",
    "Modality dropout": r"(?i)\bmodality dropout\b",
    "Occlusion": r"(?i)\bocclusion\b",
    "Oracle AUC": r"(?i)\boracle\b",
    "Parameter count": r"(?i)\bparameter count\b",
    "Permutation importance": r"(?i)\bpermutation importance\b",
    "Profile": r"(?i)\bprofiles?\b",
    "Radiomics": r"(?i)\bradiomics?\b",
    "SDM": r"\bSDM\b",
    "Sensitivity and specificity": r"(?i)\bsensitivity\b|\bspecificity\b",
    "TCAF": r"\bTCAF\b",
    "TMFF loss": r"\bTMFF\b",
    "Time-dependent AUC": r"(?i)\btime-dependent AUC\b",
    "Token": r"(?i)\btokens?\b",
    "Uno's C": r"(?i)\bUno(?:'|’)?s?\b",
    "Youden's J": r"(?i)\bYouden\b",
}


def used_terms(text: str) -> set[str]:
    """The terms of `TERMS` that a text uses.

    Args:
        text: a page's visible text.
    """
    return {term for term, pattern in TERMS.items() if re.search(pattern, text)}


def defined_terms(glossary_html: str) -> set[str]:
    """The headings a built glossary page defines (its `dt` entries).

    Args:
        glossary_html: the glossary page's HTML.
    """
    soup = BeautifulSoup(glossary_html, "html.parser")
    for link in soup.select("dt a.headerlink"):  # the "#" or "¶" the theme appends
        link.decompose()
    # MyST sets a typographic apostrophe ("Youden’s J"); the list writes a plain one
    return {" ".join(dt.get_text(" ").split()).replace("\u2019", "'") for dt in soup.select("dt")}


def defined_in_markdown(source: str) -> set[str]:
    """The headings of a MyST `{glossary}` block: unindented, non-empty lines inside it.

    Args:
        source: the glossary page's Markdown.
    """
    block = re.search(r"```\{glossary\}\n(.*?)\n```", source, re.S)
    lines = block.group(1).splitlines() if block else []
    return {ln.strip() for ln in lines if ln.strip() and not ln[:1].isspace()}


def undefined(used: set[str], defined: set[str]) -> list[str]:
    """Terms used and not defined, sorted.

    Args:
        used: terms a page (or the whole book) uses.
        defined: headings the glossary defines.
    """
    return sorted(used - defined)


def check_glossary(html_dir: Path, pages: list[Path]) -> list[str]:
    """`page: glossary: ...` lines for each term a page uses that the glossary does not define.

    Args:
        html_dir: the site's `_build/html` folder.
        pages: the pages to read (relative to `html_dir`).
    """
    glossary = html_dir / GLOSSARY_PAGE
    if not glossary.exists():  # a site without prose pages (a test's) has no glossary to hold
        book = any(p.parts[0] == "book" for p in pages)
        return [f"{GLOSSARY_PAGE}: glossary: the glossary page is missing"] if book else []
    defined = defined_terms(glossary.read_text(errors="replace"))
    lines = []
    for rel in pages:
        soup = BeautifulSoup((html_dir / rel).read_text(errors="replace"), "html.parser")
        main = soup.select_one("main, article, div.bd-article") or soup
        for term in undefined(used_terms(main.get_text(" ")), defined):
            lines.append(f"{rel}: glossary: the page uses {term!r}, which the glossary lacks")
    return lines
