"""Attention before and after training: the claims read their own tables."""

from __future__ import annotations

import torch

from tmiclnet.evaluate.interpret import trained


def test_pooling_and_tcaf_claims_quote_their_tables() -> None:
    flat = torch.full((2, 4), 0.25)
    peaked = torch.tensor([[0.7, 0.1, 0.1, 0.1], [0.4, 0.2, 0.2, 0.2]])
    maps = {f"ima/{m}/pool": flat for m in ("ct", "radiomics", "text")}
    after = {f"ima/{m}/pool": peaked for m in ("ct", "radiomics", "text")}
    said = trained.pooling_claims(maps, after)
    assert said.unshown() == [] and said.table.loc["CT", "max trained"] == "0.550"
    assert (
        said.table.loc["CT", "even init"] == "1.00" and "0.250 at initialisation" in said.markdown()
    )
    tcaf = trained.tcaf_claims(
        {f"tcaf/{m}": flat for m in ("ct", "radiomics", "text")},
        {f"tcaf/{m}": peaked for m in ("ct", "radiomics", "text")},
    )
    assert tcaf.unshown() == [] and float(tcaf.table.loc["CT", "even trained"]) < 1.0
