"""TCAF, triple-modal cross-attention fusion, in the two variants.

Paper: each modality attends to the others. Released code: the 256 channels of a modality's
vector are treated as 256 tokens of width 1; attention runs in a cycle (text queries radiomics,
radiomics queries CT, CT queries text) with one head whose Q, K and V are scalar affine maps,
and each output is Linear(2,1) over [x, context]: 3 x (2+2+2+3) = 27 parameters in all. As in
their code, the attention weights pass a Dropout(0.1) before they weigh the values (the scale
1/sqrt(width) is 1 for width 1).
The `tokens` variant is what the words describe: each modality's IMA vector queries the tokens of
the other modalities with multi-head attention; missing modalities are masked out of the keys.
"""

from __future__ import annotations

import torch
from torch import nn

from tmiclnet.models.ima import safe_padding_mask

RELEASED_TCAF_DROPOUT = 0.1  # the release's Dropout(0.1) on the attention weights


class ScalarCrossAttention(nn.Module):
    """One released unit: x (B,C) queries y (B,C); every channel is a 1-wide token. 9 parameters.

    Returns the output and the attention weights before dropout (what the maps show).
    """

    def __init__(self, dropout: float = RELEASED_TCAF_DROPOUT) -> None:
        super().__init__()
        self.q, self.k, self.v = nn.Linear(1, 1), nn.Linear(1, 1), nn.Linear(1, 1)
        self.out = nn.Linear(2, 1)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x1, y1 = x.unsqueeze(-1), y.unsqueeze(-1)  # (B, C, 1)
        weights = torch.softmax(self.q(x1) @ self.k(y1).transpose(1, 2), dim=-1)  # (B, C, C)
        context = self.drop(weights) @ self.v(y1)
        return self.out(torch.cat([x1, context], dim=-1)).squeeze(-1), weights


def cycle_context(present: torch.Tensor) -> torch.Tensor:
    """For each sample and query modality p, the modality it attends to: (B, k) long.

    Released order: p queries p-1 (with ("ct","radiomics","text"): text->radiomics,
    radiomics->ct, ct->text). If that one is missing, the next present one in the cycle; a
    sample with nothing else present attends to itself.
    """
    b, k = present.shape
    choice = torch.arange(k, device=present.device).expand(b, k).clone()
    for step in range(k - 1, 0, -1):  # farthest first, so the nearest present one wins
        cand = torch.arange(k, device=present.device).sub(step).remainder(k)
        ok = present[:, cand]
        choice = torch.where(ok, cand.expand(b, k), choice)
    return choice


class ReleasedTCAF(nn.Module):
    """The authors' scalar-token cycle; (B,k,C) vectors -> (B,k,C) outputs; 9 parameters per
    modality."""

    def __init__(self, n_modalities: int = 3, dropout: float = RELEASED_TCAF_DROPOUT) -> None:
        super().__init__()
        self.units = nn.ModuleList(ScalarCrossAttention(dropout) for _ in range(n_modalities))

    def forward(self, vectors: torch.Tensor, present: torch.Tensor):
        ctx_idx = cycle_context(present)
        outs, maps = [], {}
        for p, unit in enumerate(self.units):
            idx = ctx_idx[:, p].view(-1, 1, 1).expand(-1, 1, vectors.shape[-1])
            y = vectors.gather(1, idx).squeeze(1)
            out, maps[p] = unit(vectors[:, p], y)
            outs.append(out)
        return torch.stack(outs, dim=1), maps, ctx_idx


class CrossAttentionBlock(nn.Module):
    """One query vector attends over key tokens; residual + LN + feed-forward + LN."""

    def __init__(self, dim: int = 256, heads: int = 8, dropout: float = 0.1) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.ff = nn.Sequential(
            nn.Linear(dim, 2 * dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(2 * dim, dim)
        )

    def forward(self, query: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor):
        out, weights = self.attn(
            query.unsqueeze(1), keys, keys, key_padding_mask=safe_padding_mask(mask)
        )
        h = self.norm1(query + out[:, 0])
        return self.norm2(h + self.ff(h)), weights[:, 0]


class TokenTCAF(nn.Module):
    """Each modality's vector queries the other modalities' tokens (multi-head cross-attention).

    forward(vectors [(B,dim)], tokens [(B,N_i,dim)], masks [(B,N_i)], present (B,k)) ->
    (fused (B,k,dim), maps {p: weights over the other modalities' tokens}). A query whose keys
    are all missing keeps its own vector.
    """

    def __init__(
        self, n_modalities: int = 3, dim: int = 256, heads: int = 8, dropout: float = 0.1
    ) -> None:
        super().__init__()
        self.type_embed = nn.Parameter(torch.zeros(n_modalities, dim))
        self.blocks = nn.ModuleList(
            CrossAttentionBlock(dim, heads, dropout) for _ in range(n_modalities)
        )

    def forward(self, vectors, tokens, masks, present):
        outs, maps = [], {}
        for p, block in enumerate(self.blocks):
            others = [j for j in range(len(tokens)) if j != p]
            keys = torch.cat([tokens[j] + self.type_embed[j] for j in others], dim=1)
            key_mask = torch.cat([masks[j] & present[:, j : j + 1] for j in others], dim=1)
            out, maps[p] = block(vectors[p], keys, key_mask)
            has_context = key_mask.any(dim=1, keepdim=True)
            outs.append(torch.where(has_context, out, vectors[p]))
            maps[p] = maps[p] * key_mask
        return torch.stack(outs, dim=1), maps
