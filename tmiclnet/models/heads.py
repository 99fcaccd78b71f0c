"""Classification heads: a small MLP, and the released code's 1-D DenseNet over the fused vector.

The release reads the 768 concatenated TCAF outputs as a 1-channel signal of length 768 and
classifies it with a DenseNet-121-style 1-D network. `DenseNet1D` follows its layout: every
convolution with a bias, transitions BN-ReLU-Conv(3 wide)-AvgPool, no BN-ReLU after the last dense
block, and a classifier Linear(C, C/2)-ReLU-Dropout(0.5)-Linear(C/2, 2), i.e. Linear(1024, 512)
then Linear(512, 2) at the "densenet121" size. `DENSENET_SIZES` has that size and a slim one for
the CPU profiles ("small"). The release's final sigmoid (cross-entropy on probabilities, a bug) is
left out: the head returns logits.
"""

from __future__ import annotations

import torch
from torch import nn

DENSENET_SIZES = {
    # growth rate, blocks, initial features, bottleneck width of a dense layer
    "densenet121": dict(growth=32, blocks=(6, 12, 24, 16), init=64, middle=128),
    "small": dict(growth=8, blocks=(2, 2, 2, 2), init=16, middle=32),
}
RELEASED_HEAD_DROPOUT = 0.5  # the release's Dropout(0.5) in the DenseNet classifier
TRANSITION_WIDTH = 3  # the release's transition convolutions are 3 wide (padding 1)


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
    def __init__(self, c_in: int, middle: int, growth: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.BatchNorm1d(c_in),
            nn.ReLU(),
            nn.Conv1d(c_in, middle, 1),
            nn.BatchNorm1d(middle),
            nn.ReLU(),
            nn.Conv1d(middle, growth, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.net(x)], dim=1)


def transition(channels: int) -> nn.Sequential:
    """Between dense blocks: halve channels (a 3-wide convolution, as released) and length."""
    return nn.Sequential(
        nn.BatchNorm1d(channels),
        nn.ReLU(),
        nn.Conv1d(channels, channels // 2, TRANSITION_WIDTH, padding=TRANSITION_WIDTH // 2),
        nn.AvgPool1d(2),
    )


class DenseNet1D(nn.Module):
    """(B, L) vector read as a 1-channel signal -> dense blocks -> pooled -> two logits."""

    def __init__(self, size: str = "small", n_classes: int = 2) -> None:
        super().__init__()
        if size not in DENSENET_SIZES:
            raise ValueError(f"head size {size!r}: choose one of {sorted(DENSENET_SIZES)}")
        cfg = DENSENET_SIZES[size]
        c = cfg["init"]
        layers: list[nn.Module] = [
            nn.Conv1d(1, c, 7, stride=2, padding=3),
            nn.BatchNorm1d(c),
            nn.ReLU(),
            nn.MaxPool1d(3, 2, 1),
        ]
        for i, n in enumerate(cfg["blocks"]):
            for _ in range(n):
                layers.append(_DenseLayer(c, cfg["middle"], cfg["growth"]))
                c += cfg["growth"]
            if i < len(cfg["blocks"]) - 1:
                layers.append(transition(c))
                c //= 2
        # the release pools the last dense block's output directly (no BN-ReLU before it)
        layers += [nn.AdaptiveAvgPool1d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Linear(c, c // 2),
            nn.ReLU(),
            nn.Dropout(RELEASED_HEAD_DROPOUT),
            nn.Linear(c // 2, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x.unsqueeze(1)))
