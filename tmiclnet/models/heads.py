"""Classification heads: a small MLP, and the released code's 1-D DenseNet over the fused vector.

The release reads the 768 concatenated TCAF outputs as a 1-channel signal of length 768 and
classifies it with a DenseNet-121-style 1-D network ending in Linear(512, 2). `DENSENET_SIZES`
has that size ("densenet121") and a slim one for the CPU profiles ("small").
"""

from __future__ import annotations

import torch
from torch import nn

DENSENET_SIZES = {
    # growth rate, blocks, initial features
    "densenet121": dict(growth=32, blocks=(6, 12, 24, 16), init=64),
    "small": dict(growth=8, blocks=(2, 2, 2, 2), init=16),
}


class MLPHead(nn.Module):
    """Linear-GELU-Dropout-Linear to two logits."""

    def __init__(
        self, in_dim: int, hidden: int = 128, dropout: float = 0.2, n_classes: int = 2
    ) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, n_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class _DenseLayer(nn.Module):
    def __init__(self, c_in: int, growth: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.BatchNorm1d(c_in),
            nn.ReLU(),
            nn.Conv1d(c_in, 4 * growth, 1, bias=False),
            nn.BatchNorm1d(4 * growth),
            nn.ReLU(),
            nn.Conv1d(4 * growth, growth, 3, padding=1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.net(x)], dim=1)


class DenseNet1D(nn.Module):
    """(B, L) vector read as a 1-channel signal -> dense blocks -> pooled -> Linear(512, 2)."""

    def __init__(self, size: str = "small", n_classes: int = 2) -> None:
        super().__init__()
        if size not in DENSENET_SIZES:
            raise ValueError(f"head size {size!r}: choose one of {sorted(DENSENET_SIZES)}")
        cfg = DENSENET_SIZES[size]
        c = cfg["init"]
        layers: list[nn.Module] = [
            nn.Conv1d(1, c, 7, stride=2, padding=3, bias=False),
            nn.BatchNorm1d(c),
            nn.ReLU(),
            nn.MaxPool1d(3, 2, 1),
        ]
        for i, n in enumerate(cfg["blocks"]):
            for _ in range(n):
                layers.append(_DenseLayer(c, cfg["growth"]))
                c += cfg["growth"]
            if i < len(cfg["blocks"]) - 1:  # transition: halve channels and length
                layers += [
                    nn.BatchNorm1d(c),
                    nn.ReLU(),
                    nn.Conv1d(c, c // 2, 1, bias=False),
                    nn.AvgPool1d(2),
                ]
                c //= 2
        layers += [nn.BatchNorm1d(c), nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Linear(c, 512), nn.ReLU(), nn.Linear(512, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x.unsqueeze(1)))
