"""Cached CT tokens: the CT-only model's encoder, trained once per fold, feeds the fusion models.

With `CtStrategy.CACHED` (the cpu and quick profiles) the 3-D CNN is the costly part
of every model that sees CT. It is trained once per fold, inside the CT-only model; its last
feature map, one token per cell, is then computed once for every patient and saved beside that
model (`ct_tokens.pt`, keyed by the CT-only model's config hash), and the fusion models of the fold
read those tokens instead of volumes. With `CtTokens.CROSSFIT` the
training patients' rows are then replaced by tokens of encoders that did not see their labels
(`tmiclnet.train.crossfit`); `fold_ct_tokens` makes and caches the tokens of each such encoder.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from tmiclnet import results
from tmiclnet.train.ddp import World, barrier


@torch.no_grad()
def extract_ct_tokens(
    model: nn.Module, ct: torch.Tensor, device: torch.device, batch_size: int = 16
) -> torch.Tensor:
    """Raw feature-map tokens (N, cells, C) of the trained CT backbone for every volume.

    Args:
        model: a trained model holding exactly one `CTBackbone` (the CT-only model).
        ct: (N, 1, D, H, W) volumes.
        device: where the backbone runs.
        batch_size: volumes per forward pass.
    """
    from tmiclnet.models.encoders import CTBackbone

    backbones = [m for m in model.modules() if isinstance(m, CTBackbone)]
    if len(backbones) != 1:
        raise ValueError(f"expected one CTBackbone in the CT-only model, found {len(backbones)}")
    backbone = backbones[0].to(device).eval()
    return torch.cat([backbone(chunk.to(device)).float().cpu() for chunk in ct.split(batch_size)])


def fold_ct_tokens(
    model: nn.Module | None,
    folder: Path,
    key: str,
    ct: torch.Tensor,
    device: torch.device,
    world: World,
) -> tuple[torch.Tensor, str]:
    """(tokens of the volumes `ct`, their source tag) of one fold's CT encoder.

    `model` is the CT-only model just trained (then the tokens are always made anew from it: a
    retrained encoder must never be paired with tokens of an earlier run), or None when its fold
    was already done (then ct_tokens.pt is read when it was made under `key`, else the tokens
    are made from the saved checkpoint)."""
    source = f"ct_tokens:{key[:16]}"
    if model is None:
        tokens = results.read_ct_tokens(folder, key)
        if tokens is not None:
            return tokens, source
        model, _ = results.load_model(folder)
    tokens = extract_ct_tokens(model, ct, device)
    if world.main:
        results.write_ct_tokens(folder, key, tokens)
    barrier(world)
    return tokens, source
