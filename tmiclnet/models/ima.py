"""IMA, intra-modal aggregation: self-attention among one modality's tokens, then pooling.

Paper: each modality's features attend to themselves before fusion. Released code: each modality
is ONE token, so the softmax over a single key is always 1 and the block reduces to
LN(x + W_o W_v x) - an MLP with a residual. The `tokens` variant gives IMA something to attend
over (feature-map cells, radiomic families, words) and pools the tokens with a learned query.
The released block keeps the authors' settings: dropout 0.5 on the attention weights (their
`nn.Dropout()`; with one key it zeroes or doubles each head's value in training), dropout 0.2 on
the output and LayerNorm eps 1e-12.
"""

from __future__ import annotations

import torch
from torch import nn

from tmiclnet.models.encoders import masked_mean

RELEASED_ATTENTION_DROPOUT = 0.5  # the release's attn_dropout = nn.Dropout(), p = 0.5
RELEASED_LN_EPS = 1e-12  # the release's TF-style LayerNorm


def safe_padding_mask(mask: torch.Tensor) -> torch.Tensor:
    """key_padding_mask (True = ignore) that never masks a whole row (which would give NaN).

    A row with no real token (a missing modality) keeps its first key; its output is discarded
    by the caller, who knows the modality is absent.
    """
    pad = ~mask
    empty = pad.all(dim=1)
    if empty.any():
        pad = pad.clone()
        pad[empty, 0] = False
    return pad


class SelfAttentionBlock(nn.Module):
    """Multi-head self-attention + dropout + residual + LayerNorm (the IMA block of the paper).

    `attn_dropout` (default: `dropout`) drops attention weights, `dropout` the block's output.
    """

    def __init__(
        self,
        dim: int = 256,
        heads: int = 16,
        dropout: float = 0.2,
        attn_dropout: float | None = None,
        eps: float = 1e-5,
    ) -> None:
        super().__init__()
        p_attn = dropout if attn_dropout is None else attn_dropout
        self.attn = nn.MultiheadAttention(dim, heads, dropout=p_attn, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(dim, eps=eps)

    def forward(
        self, tokens: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # the (B,N,N) map is only materialised outside training: the fused kernel is faster
        out, weights = self.attn(
            tokens,
            tokens,
            tokens,
            key_padding_mask=safe_padding_mask(mask),
            need_weights=not self.training,
            average_attn_weights=True,
        )
        return self.norm(tokens + self.drop(out)), weights


class AttentionPool(nn.Module):
    """A learned query attends over the real tokens: (B,N,dim) -> (B,dim) and weights (B,N)."""

    def __init__(self, dim: int = 256, heads: int = 4) -> None:
        super().__init__()
        self.query = nn.Parameter(torch.randn(1, 1, dim) * dim**-0.5)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)

    def forward(
        self, tokens: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        q = self.query.expand(tokens.shape[0], -1, -1)
        out, weights = self.attn(q, tokens, tokens, key_padding_mask=safe_padding_mask(mask))
        return out[:, 0], weights[:, 0]


class IMA(nn.Module):
    """Intra-modal aggregation in one of the two variants, or switched off (the no-IMA ablation).

    forward(tokens, mask) -> (tokens after self-attention, pooled vector, attention maps).

    - released: the input is one token (the encoder's pooled vector); self-attention over it,
      with the release's attention dropout (0.5) and LayerNorm eps (1e-12).
    - tokens: self-attention over the tokens, then attention pooling.
    - enabled=False: tokens pass unchanged; the vector is their masked mean.
    """

    def __init__(
        self,
        dim: int = 256,
        variant: str = "tokens",
        enabled: bool = True,
        heads: int = 16,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        self.variant, self.enabled = variant, enabled
        released = variant == "released"
        self.block = (
            SelfAttentionBlock(
                dim,
                heads,
                dropout,
                attn_dropout=RELEASED_ATTENTION_DROPOUT if released else None,
                eps=RELEASED_LN_EPS if released else 1e-5,
            )
            if enabled
            else None
        )
        self.pool = AttentionPool(dim) if enabled and variant == "tokens" else None

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor):
        maps: dict[str, torch.Tensor] = {}
        if self.block is not None:
            tokens, weights = self.block(tokens, mask)
            if weights is not None:
                maps["self"] = weights
        if self.pool is not None:
            vector, maps["pool"] = self.pool(tokens, mask)
        else:
            vector = masked_mean(tokens, mask)
        return tokens, vector, maps


def one_token_closed_form(block: SelfAttentionBlock, x: torch.Tensor) -> torch.Tensor:
    """What the released IMA computes on one token (eval mode): LN(x + W_o (W_v x + b_v) + b_o).

    With a single key the softmax is 1, so queries and keys drop out; comparing this with
    `block(x[:, None], mask)` shows the attention block is a residual MLP in disguise.

    Used by notebook 05 (IMA).

    Args:
        block: the attention block to check, in eval mode.
        x: (B, d) one token per row, d the block's width.
    """
    d = x.shape[-1]
    attn = block.attn
    v = x @ attn.in_proj_weight[2 * d :].T + attn.in_proj_bias[2 * d :]
    return block.norm(x + attn.out_proj(v))
