"""Exercises numbered per page: every page's exercises open at "Exercise 1".

Sphinx numbers enumerable nodes (sphinx-exercise's exercises among them) with one counter per
chapter number. The book's chapters carry none: its prose names pages by their file numbers
("page 08"), and a sidebar numbering them 1, 2, ... from the introduction would contradict that.
Without chapter numbers the counter runs across the whole book, so page 01's exercises would
open at "Exercise 4". Once Sphinx has assigned its numbers, this extension renumbers each page's
exercises 1, 2, ... in page order. An exercise's title and its solution's "Solution to
Exercise N" both read the number from `env.toc_fignumbers`, so both follow.
"""

from __future__ import annotations

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

FIGTYPE = "exercise"  # the enumerable type sphinx-exercise registers


def per_page(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Renumber each page's exercises from 1, keeping their order; return the pages changed.

    Args:
        app: the Sphinx application (the event's first argument; unused).
        env: the build environment, whose `toc_fignumbers` Sphinx has just filled.
    """
    changed = []
    for docname, figtypes in env.toc_fignumbers.items():
        numbers = figtypes.get(FIGTYPE)
        if not numbers:
            continue
        in_order = sorted(numbers, key=numbers.__getitem__)
        renumbered = {ids: (i,) for i, ids in enumerate(in_order, start=1)}
        if renumbered != numbers:
            figtypes[FIGTYPE] = renumbered
            changed.append(docname)
    return changed


def setup(app: Sphinx) -> dict:
    """Run after Sphinx's own numbering (its toctree collector, at the default priority 500)."""
    app.connect("env-get-updated", per_page, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
