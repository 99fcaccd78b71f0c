"""The book's matplotlib style: one place, applied by every notebook's setup()."""

from __future__ import annotations

import matplotlib as mpl

from tmiclnet import config, style


def test_setup_applies_the_style() -> None:
    mpl.rcdefaults()
    assert mpl.rcParams["font.size"] != style.RC["font.size"]
    config.setup("quick", "", 0, "cpu")
    for key, value in style.RC.items():
        if key != "axes.prop_cycle":
            assert mpl.rcParams[key] == (list(value) if isinstance(value, tuple) else value), key
    assert mpl.rcParams["axes.prop_cycle"].by_key()["color"] == list(style.COLOURS)
    mpl.rcdefaults()


def test_type_reads_at_ten_points_in_the_column() -> None:
    # a figure no wider than the column is shown unshrunk: the smallest type is >= 10 pt
    smallest = min(v for k, v in style.RC.items() if k.endswith("size") and k != "figure.figsize")
    width = style.RC["figure.figsize"][0]
    assert width * style.DPI <= style.COLUMN_PX and smallest >= 10
    assert style.font_scale(15) == 2.0 and style.font_scale(4) == 1.0
