"""Late fusion: one unimodal model per modality, their probabilities averaged.

Each member is a single-modality `TMICLNet`, trained on its own cross-entropy (the members share
no parameter, so joint training equals training them apart). A sample's probability is the mean
over the modalities it has; logits are log of that mean, so softmax(logits) gives it back.
Early fusion (concatenated encoder vectors) is a `TMICLNet` with fusion="concat", ima=False.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tmiclnet.batch import MODALITIES, Batch, ModelOutput, batch_size_of, present_mask
from tmiclnet.models.tmiclnet import TMICLNet


class LateFusion(nn.Module):
    """Average of unimodal probabilities over the modalities each sample has."""

    def __init__(self, modalities: tuple[str, ...] = MODALITIES, **config) -> None:
        super().__init__()
        self.modalities = tuple(m for m in MODALITIES if m in modalities)
        config = {**config, "w2": 0.0}
        self.members = nn.ModuleDict({m: TMICLNet((m,), **config) for m in self.modalities})

    def forward(self, batch: Batch) -> ModelOutput:
        b, device = batch_size_of(batch)
        present_all = present_mask(batch, b, device)
        outs = {m: self.members[m](batch) for m in self.modalities}
        cols = [MODALITIES.index(m) for m in self.modalities]
        probs = torch.stack(
            [F.softmax(outs[m]["logits"].float(), dim=1) for m in self.modalities], 1
        )
        w = present_all[:, cols].unsqueeze(-1).to(probs.dtype)
        none = w.sum(1, keepdim=True) == 0  # a sample with no modality: plain average
        w = torch.where(none, torch.ones_like(w), w)
        mean = (probs * w).sum(1) / w.sum(1)
        features = [outs[m]["features"][i] if m in outs else None for i, m in enumerate(MODALITIES)]
        attention = {k: v for m in self.modalities for k, v in outs[m]["attention"].items()}
        return {
            "logits": torch.log(mean.clamp(min=1e-12)),
            "features": features,
            "attention": attention,
            "present": present_all,
            "member_logits": {m: outs[m]["logits"] for m in self.modalities},
        }

    def loss(self, output: ModelOutput, labels: torch.Tensor) -> torch.Tensor:
        """Sum of the members' cross-entropies, each on the samples that have its modality."""
        total = output["logits"].new_zeros(())
        for m, logits in output["member_logits"].items():
            rows = output["present"][:, MODALITIES.index(m)]
            if rows.any():
                total = total + F.cross_entropy(logits[rows].float(), labels[rows])
        return total
