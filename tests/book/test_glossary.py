"""The glossary defines every term of the package's list, and the list's check catches a gap."""

from __future__ import annotations

from tmiclnet.book import glossary
from tmiclnet.config import project_root


def test_the_glossary_page_defines_every_listed_term() -> None:
    source = (project_root() / "book" / "glossary.md").read_text()
    defined = glossary.defined_in_markdown(source)
    assert glossary.undefined(set(glossary.TERMS), defined) == []


def test_a_glossary_without_a_term_a_page_uses_is_caught() -> None:
    source = "```{glossary}\nAUC\n  Area under the ROC curve.\n\nIMA\n  Intra-modal.\n```\n"
    defined = glossary.defined_in_markdown(source)
    assert defined == {"AUC", "IMA"}
    used = glossary.used_terms("The Brier score and the AUC, with a bootstrap interval; IMA.")
    assert glossary.undefined(used, defined) == ["Bootstrap", "Brier score"]
    # acronyms are matched as written: "ima" in a word is not IMA
    assert "IMA" not in glossary.used_terms("the image of a climate")


def test_a_typographic_apostrophe_in_the_built_page_matches() -> None:
    html = '<dl><dt id="term-Youden-s-J">Youden\u2019s J<a class="headerlink">#</a></dt></dl>'
    assert glossary.defined_terms(html) == {"Youden's J"}
