"""The HTML checker: each rule catches its bad case and passes a good one (small fixtures)."""

from __future__ import annotations

from pathlib import Path

from tmiclnet.book import check as book_check

LONG_LOSS = (
    r"\mathcal{L} = \mathrm{CE}(\text{logits}, y) + w_2\Big[(1-w_1)\,\mathrm{SDM}(m_1,m_2)"
    r" + w_1\,\tfrac{1}{2}\big(\mathrm{SDM}(m_2,m_3) + \mathrm{SDM}(m_1,m_3)\big)"
    r" + \lambda \sum_{k} \log p_k\Big]"
)
BROKEN_LOSS = (
    r"\begin{aligned}\mathcal{L} &= \mathrm{CE}(\text{logits}, y) \\ &\quad + w_2\Big[(1-w_1)"
    r"\,\mathrm{SDM}(m_1,m_2) \\ &\quad + w_1\,\tfrac{1}{2}\big(\mathrm{SDM}(m_2,m_3)"
    r" + \mathrm{SDM}(m_1,m_3)\big)\Big]\end{aligned}"
)
EXERCISES = """
<section id="exercises"><h2>Exercises</h2>
<div class="exercise admonition" id="ex-00-a"><p>Predict first.</p></div>
<div class="solution dropdown admonition"><p>Check.</p></div>
<div class="exercise admonition" id="ex-00-b"><p>Predict again.</p></div>
<div class="solution dropdown admonition"><p>Check.</p></div>
</section>
"""


def page(body: str) -> str:
    return f"<html><body><main>{body}</main></body></html>"


def problems(body: str, notebook: bool = False) -> list[str]:
    return book_check.check_page(page(body), notebook, ("/srv/checkout",))


def test_long_display_maths_is_caught_and_a_broken_one_passes() -> None:
    bad = problems(f'<div class="math notranslate nohighlight">\\[{LONG_LOSS}\\]</div>')
    assert len(bad) == 1 and bad[0].startswith("maths:")
    assert problems(f'<div class="math notranslate nohighlight">\\[{BROKEN_LOSS}\\]</div>') == []


def test_math_width_ignores_layout_commands() -> None:
    assert book_check.math_width(r"\mathrm{LN}\big(x + W_o\big)") == len("LN(x+Wo)")
    assert book_check.math_width(r"\alpha + \log x") == len("#+#x")


def test_wide_tables_are_caught_narrow_ones_pass() -> None:
    wide = "<tr>" + "".join(f"<th>column number {i}</th>" for i in range(12)) + "</tr>"
    assert problems(f'<table class="dataframe">{wide}</table>')[0].startswith("table:")
    long_cell = "<tr><td>" + "x" * 120 + "</td><td>0.71</td></tr>"
    assert problems(f"<table>{long_cell}</table>")[0].startswith("table:")
    # prose tables wrap at spaces: a long sentence is fine, a long unbroken string is not
    prose = "<tr><td>" + "a fairly long sentence " * 20 + "</td><td>0.71</td></tr>"
    assert problems(f"<table>{prose}</table>") == []
    narrow = "<tr><th>model</th><th>AUC</th></tr><tr><td>fusion</td><td>0.81</td></tr>"
    assert problems(f'<table class="dataframe">{narrow}</table>') == []


def test_a_row_spanning_index_cell_keeps_the_columns_in_place() -> None:
    from bs4 import BeautifulSoup

    # pandas writes a MultiIndex as one cell spanning the rows of its group: the rows below it
    # start one column to the right; counted from column 0 they would add a phantom width
    rows = (
        '<tr><th rowspan="2">model_a</th><th>p1</th><td>' + "9" * 20 + "</td></tr>"
        "<tr><th>protocol two</th><td>" + "9" * 20 + "</td></tr>"
    )
    table = BeautifulSoup(f'<table class="dataframe">{rows}</table>', "html.parser").table
    px = book_check.CHAR_PX
    expected = (7 + 12 + 20) * px + 3 * book_check.CELL_PAD_PX
    assert book_check.table_width(table) == expected


def test_markers_are_caught_in_code_not_in_prose() -> None:
    code = '<div class="cell"><pre># NBVAL_CHECK_OUTPUT\nprint(1)  # noqa: E731</pre></div>'
    found = problems(code)
    assert len(found) == 2 and all(p.startswith("marker:") for p in found)
    assert problems('<div class="cell"><pre>print(1)</pre></div>') == []
    assert problems("<p>nbval checks the outputs of marked cells</p>") == []
    # an API entry whose docstring quotes a marker shows it too
    api = '<dl class="py function"><dd><p>drops <code>#  NBVAL_CHECK_OUTPUT</code></p></dd></dl>'
    assert problems(api)[0].startswith("marker:")


def test_machine_paths_in_outputs_are_caught_placeholders_pass() -> None:
    for path in ("/home/ana/book/data", "/tmp/tmpx1/cohort", "/srv/checkout/notebooks"):
        found = problems(f'<div class="cell_output"><pre>data in {path}</pre></div>')
        assert found and found[0].startswith("path:"), path
    assert (
        problems('<div class="cell_output"><pre>data in &lt;data&gt;/quick/pbc</pre></div>') == []
    )


def test_notebook_pages_need_exercises_with_solutions() -> None:
    assert problems("<section><h2>Summary</h2></section>", notebook=True) == [
        'exercises: no section titled "Exercises"'
    ]
    assert problems(EXERCISES, notebook=True) == []
    one = EXERCISES.split('<div class="exercise admonition" id="ex-00-b">')[0] + "</section>"
    assert problems(one, notebook=True)[0].startswith("exercises: 1 exercises")
    unsolved = EXERCISES.replace('class="solution dropdown admonition"', 'class="note"')
    assert "solutions" in problems(unsolved, notebook=True)[0]
    assert problems("<p>prose page</p>", notebook=False) == []


def test_site_lines_name_the_page(tmp_path: Path) -> None:
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01_x.html").write_text(page("<p>no exercises</p>"))
    (tmp_path / "intro.html").write_text(page("<p>fine</p>"))
    lines = book_check.check_site(tmp_path)
    assert lines == ['notebooks/01_x.html: exercises: no section titled "Exercises"']
    assert book_check.main([str(tmp_path)]) == 1


ASSERT_CELL = (
    '<div class="cell"><div class="cell_input"><pre>gap = 0.1\n'
    'assert gap &gt; 0, "the reading says so"</pre></div></div>'
)


def test_a_shown_assert_is_caught_a_hidden_one_passes() -> None:
    found = problems(ASSERT_CELL)
    assert len(found) == 1 and found[0].startswith("assert:"), found
    hidden = f"<details class='hide above-input'><summary>Show</summary>{ASSERT_CELL}</details>"
    assert problems(hidden) == []
    # the word in prose or in an output is not a check a reader sees
    assert problems('<div class="cell_output"><pre>assert passed</pre></div>') == []
    assert problems("<p>we assert that</p>") == []


def test_a_claims_block_whose_sentence_disagrees_with_its_table_is_caught() -> None:
    import pandas as pd

    from tmiclnet.claims import Claims

    table = pd.DataFrame({"AUC": ["0.853", "0.863"]}, index=["full", "no TMFF"])
    good = Claims(table, ["no TMFF reaches 0.863, above the full model's 0.853."])
    assert problems(good._repr_html_()) == []
    # a block built elsewhere (or edited) whose sentence quotes a number the table lacks
    bad = good._repr_html_().replace("0.863, above", "0.870, above")
    found = problems(bad)
    assert len(found) == 1 and found[0].startswith("claims:") and "0.870" in found[0], found


def test_a_term_used_but_not_in_the_glossary_is_caught(tmp_path: Path) -> None:
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "glossary.html").write_text(
        page('<dl class="glossary"><dt id="term-AUC">AUC<a class="headerlink">¶</a></dt></dl>')
    )
    (tmp_path / "book" / "ok.html").write_text(page("<p>the AUC of each fold</p>"))
    (tmp_path / "book" / "bad.html").write_text(page("<p>the Brier score of each fold</p>"))
    lines = book_check.check_site(tmp_path)
    assert lines == [
        "book/bad.html: glossary: the page uses 'Brier score', which the glossary lacks"
    ]
