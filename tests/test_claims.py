"""Claims: sentences and their table from one source; a sentence quoting an unshown number fails."""

from __future__ import annotations

import pandas as pd
import pytest

from tmiclnet.claims import Claims, numbers, unshown


def test_numbers_ignore_sign_commas_and_names() -> None:
    assert numbers("-0.044 [−0.080, +0.009] of 1,781 features; w2 and fold_3") == {
        "0.044",
        "0.080",
        "0.009",
        "1781",
    }
    assert unshown("12 of 19 families", "19 families | 12 within spread") == []
    assert unshown("0.85", "0.853") == ["0.85"]  # digits must match as written


def test_a_sentence_with_a_number_its_table_lacks_is_refused() -> None:
    table = pd.DataFrame({"drop": ["+0.012", "-0.004"]}, index=["glcm", "shape"])
    ok = Claims(table, ["glcm matters most (0.012)."], caption="2 families")
    assert "glcm matters most" in ok._repr_html_() and 'class="claims"' in ok._repr_html_()
    with pytest.raises(ValueError, match="0.007"):
        Claims(table, ["shuffling changed the AUC by -0.007 at most."])
    with pytest.raises(ValueError, match="12"):
        Claims(table, ["12 of 2 families have a negative importance."], caption="2 families")
