"""Catalogue models at small sizes and a batch that fits them: test_models and
test_released_fidelity both build on them, so they live here rather than in either test module.
"""

from __future__ import annotations

import torch

from tmiclnet.models import build

F_RAD, L_TXT, H_TXT, N_CT, C_CT = 12, 7, 16, 4, 128
FAMILIES = [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9, 10, 11]]
SMALL = dict(rad_features=F_RAD, rad_families=FAMILIES, text_dim=H_TXT, use_ct_tokens=True)


def make_batch(b: int = 4, seed: int = 0, ct: str = "tokens") -> dict:
    """A batch of `b` (at most 4) patients for `SMALL` models: notes of 7, 5, 3 and 6 line tokens,
    CT as `N_CT` tokens or (ct="volume") as 16x32x32 volumes."""
    g = torch.Generator().manual_seed(seed)
    batch = {
        "radiomics": torch.randn(b, F_RAD, generator=g),
        "text_tokens": torch.randn(b, L_TXT, H_TXT, generator=g),
        "text_mask": torch.arange(L_TXT).expand(b, L_TXT) < torch.tensor([[7], [5], [3], [6]])[:b],
        "present": torch.ones(b, 3, dtype=torch.bool),
        "label": torch.tensor([0, 1, 0, 1])[:b],
    }
    if ct == "tokens":
        batch["ct_tokens"] = torch.randn(b, N_CT, C_CT, generator=g)
    else:
        batch["ct"] = torch.rand(b, 1, 16, 32, 32, generator=g)
    return batch


def built(name: str, seed: int = 0, **extra) -> torch.nn.Module:
    """Model `name` at the `SMALL` sizes (`extra` overrides them), seeded, in eval mode."""
    torch.manual_seed(seed)
    return build(name, **{**SMALL, **extra}).eval()


def tiny_bert():
    """A randomly initialised two-head BERT small enough for a unit test (nothing downloaded)."""
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=32,
    )  # fmt: skip
    return BertModel(config)
