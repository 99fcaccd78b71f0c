"""One encoder per modality, each ending in `dim`-wide tokens, a token mask and a pooled vector.

The two model variants read different parts of the same output: the `tokens` variant attends over
the tokens (CT feature-map cells, one token per radiomic family, the language model's token
states); the `released` variant uses only the pooled vector, built the way the authors' code
builds it (`mode="released"`): CT = the feature map's global average -> Linear(C, 400) ->
Linear(400, dim), as their Kinetics ResNet's 400-way fc followed by their Linear(400, 256); text =
Linear(H, dim) on the language model's pooler output (fine-tuned path) or on the mean of the
frozen states (no pooler state is cached: see book/released_vs_paper.md); no LayerNorm after
either, as in their code.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
from torch import nn

ENCODER_MODES = ("tokens", "released")
RELEASED_CT_WIDTH = 400  # the release's CT vector: its Kinetics ResNet-50's 400-way fc

# MONAI's 3-D ResNets: depth -> (block, layers); widths 64,128,256,512 times widen_factor
RESNET_LAYOUTS = {
    10: ("basic", [1, 1, 1, 1]),
    18: ("basic", [2, 2, 2, 2]),
    34: ("basic", [3, 4, 6, 3]),
    50: ("bottleneck", [3, 4, 6, 3]),
}


@dataclass
class Encoded:
    """What every encoder returns: tokens (B,N,dim), mask (B,N) True = real, pooled (B,dim)."""

    tokens: torch.Tensor
    mask: torch.Tensor
    pooled: torch.Tensor


def masked_mean(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over the real tokens only; a row without any real token gives zeros, never NaN."""
    w = mask.to(tokens.dtype).unsqueeze(-1)
    return (tokens * w).sum(1) / w.sum(1).clamp(min=1.0)


# GroupNorm's groups: at the cpu profile's width (16 channels in the first stage) 2 channels a group
CT_NORM_GROUPS = 8


def ct_norm_layer(norm: str, widen: float) -> str | tuple:
    """MONAI's `norm` argument for the CT ResNet: "batch", or group / instance norm, which
    normalise each volume by itself, so that training and evaluation compute the same thing
    whatever the batch size (a batch of 16 gives batch norm noisy statistics).

    Args:
        norm: "batch", "group" or "instance" (`tmiclnet.config.CtNorm`).
        widen: the ResNet's width factor (group norm needs channels divisible by its groups).
    """
    if norm == "batch":
        return "batch"
    if norm == "instance":
        return ("instance", {"affine": True})
    if norm == "group":
        if int(64 * widen) % CT_NORM_GROUPS:
            raise ValueError(
                f"ct_norm 'group' needs 64 x ct_widen ({64 * widen:g}) divisible by "
                f"{CT_NORM_GROUPS}"
            )
        return ("group", {"num_groups": CT_NORM_GROUPS})
    raise ValueError(f"ct_norm {norm!r}: use 'batch', 'group' or 'instance'")


@functools.cache
def norm_resnet() -> type:
    """MONAI's 3-D ResNet with its `norm` argument reaching every block (class `NormResNet`).

    MONAI 1.6 applies `norm` to the stem only: `_make_layer` is called without it, so the
    residual blocks and their shortcuts keep batch norm (Project-MONAI/MONAI pull request
    #9028). This passes it on; with "batch" the network is MONAI's own, weight for weight.

    Made on first use: `import monai` loads every MONAI network, transformers' BERT among them
    (about 3.6 s), and most pages and tests that import the models never build a CT encoder.
    """
    from monai.networks.nets import ResNet

    class NormResNet(ResNet):
        def __init__(self, *args, norm: str | tuple = "batch", **kwargs) -> None:
            object.__setattr__(self, "_block_norm", norm)  # read by _make_layer inside __init__
            super().__init__(*args, norm=norm, **kwargs)

        def _make_layer(self, *args, **kwargs) -> nn.Sequential:
            return super()._make_layer(*args, **{**kwargs, "norm": self._block_norm})

    return NormResNet


def ct_token_dim(depth: int, widen: float) -> int:
    """Channels of the last ResNet stage = the width of the raw CT tokens."""
    if depth not in RESNET_LAYOUTS:
        raise ValueError(f"ct_depth {depth} not supported; choose one of {sorted(RESNET_LAYOUTS)}")
    expansion = 4 if RESNET_LAYOUTS[depth][0] == "bottleneck" else 1
    return int(512 * widen) * expansion


class CTBackbone(nn.Module):
    """MONAI 3-D ResNet (random init, never downloaded) cut before pooling: volume -> raw tokens.

    The feature map (B,C,d,h,w) becomes d*h*w tokens of width C. Training code can call it once
    per fold and cache the tokens, then build models with `use_ct_tokens=True`.
    """

    def __init__(
        self,
        depth: int,
        widen: float,
        conv1_stride: int,
        channels_last: bool,
        conv1_size: int = 7,
        norm: str = "batch",
    ) -> None:
        super().__init__()
        block, layers = RESNET_LAYOUTS.get(depth, (None, None))
        if block is None:
            raise ValueError(
                f"ct_depth {depth} not supported; choose one of {sorted(RESNET_LAYOUTS)}"
            )
        self.net = norm_resnet()(
            block,
            layers,
            [64, 128, 256, 512],
            spatial_dims=3,
            n_input_channels=1,
            conv1_t_size=conv1_size,
            conv1_t_stride=conv1_stride,
            widen_factor=widen,
            feed_forward=False,
            norm=ct_norm_layer(norm, widen),
        )
        self.out_dim = ct_token_dim(depth, widen)
        # channels-last 3-D tensors let oneDNN run the convolutions' backward ~1.2x faster on a
        # CPU core (`python -m tmiclnet bench training`); same arithmetic, other summation order
        self.memory_format = torch.channels_last_3d if channels_last else torch.contiguous_format
        if channels_last:
            self.net.to(memory_format=self.memory_format)

    def feature_map(self, ct: torch.Tensor) -> torch.Tensor:
        """(B,1,D,H,W) volume -> (B,C,d,h,w) last-stage feature map."""
        if ct.dim() != 5 or ct.shape[1] != 1:
            raise ValueError(f"batch['ct'] must be (B,1,D,H,W), got {tuple(ct.shape)}")
        n = self.net
        ct = ct.contiguous(memory_format=self.memory_format)
        x = n.act(n.bn1(n.conv1(ct)))
        x = x if n.no_max_pool else n.maxpool(x)
        return n.layer4(n.layer3(n.layer2(n.layer1(x))))

    def forward(self, ct: torch.Tensor) -> torch.Tensor:
        return self.feature_map(ct).flatten(2).transpose(1, 2)  # (B, d*h*w, C)


def check_mode(mode: str) -> str:
    """The encoder mode, or a ValueError naming the valid ones."""
    if mode not in ENCODER_MODES:
        raise ValueError(f"encoder mode {mode!r}: use one of {ENCODER_MODES}")
    return mode


def one_token(vector: torch.Tensor) -> Encoded:
    """A (B,dim) vector as an Encoded holding it as the single token: what the released variant
    reads."""
    mask = torch.ones(vector.shape[0], 1, dtype=torch.bool, device=vector.device)
    return Encoded(vector.unsqueeze(1), mask, vector)


class CTEncoder(nn.Module):
    """CT volume (or cached raw tokens) -> Encoded; no backbone when the tokens are cached.

    `mode="tokens"`: every feature-map cell projected to `dim` (Linear + LayerNorm), pooled = their
    mean. `mode="released"`: the authors' vector, global average of the cells -> Linear(C, 400) ->
    Linear(400, dim), returned as one token.
    """

    def __init__(
        self,
        dim: int = 256,
        depth: int = 10,
        widen: float = 0.25,
        use_tokens: bool = False,
        token_dim: int | None = None,
        conv1_stride: int = 2,
        channels_last: bool = False,
        mode: str = "tokens",
        conv1_size: int = 7,
        norm: str = "batch",
    ) -> None:
        super().__init__()
        self.mode = check_mode(mode)
        self.backbone = (
            None
            if use_tokens
            else CTBackbone(depth, widen, conv1_stride, channels_last, conv1_size, norm)
        )
        self.token_dim = token_dim or ct_token_dim(depth, widen)
        if mode == "released":
            self.fc = nn.Sequential(
                nn.Linear(self.token_dim, RELEASED_CT_WIDTH), nn.Linear(RELEASED_CT_WIDTH, dim)
            )
        else:
            self.proj = nn.Sequential(nn.Linear(self.token_dim, dim), nn.LayerNorm(dim))

    def forward(self, batch: dict) -> Encoded:
        if "ct_tokens" in batch:
            raw = batch["ct_tokens"]
        elif "ct" in batch and self.backbone is not None:
            raw = self.backbone(batch["ct"])
        else:
            raise KeyError(
                "the CT encoder needs batch['ct_tokens'] (built with use_ct_tokens=True) "
                "or batch['ct'] (built with use_ct_tokens=False)"
            )
        if raw.dim() != 3 or raw.shape[-1] != self.token_dim:
            raise ValueError(f"CT tokens must be (B,N,{self.token_dim}), got {tuple(raw.shape)}")
        if self.mode == "released":
            return one_token(self.fc(raw.mean(1)))
        tokens = self.proj(raw)
        mask = torch.ones(tokens.shape[:2], dtype=torch.bool, device=tokens.device)
        return Encoded(tokens, mask, tokens.mean(1))


def equal_groups(n_features: int, n_groups: int = 8) -> list[list[int]]:
    """Contiguous column groups, used as 'families' when none are given."""
    n_groups = max(1, min(n_groups, n_features))
    bounds = torch.linspace(0, n_features, n_groups + 1).round().long().tolist()
    return [list(range(a, b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


class RadiomicsEncoder(nn.Module):
    """Scaled radiomic features (B,F) -> Encoded.

    `mode="mlp"` is the released encoder (Linear-BN-ReLU-Linear-Linear, widths `hidden`): one
    vector, seen as a single token. `mode="families"` gives one token per feature family, each
    family projected by its own linear map (Linear-style init), so attention can weigh families.
    """

    def __init__(
        self,
        n_features: int,
        dim: int = 256,
        mode: str = "families",
        families: list[list[int]] | None = None,
        hidden: tuple[int, int] = (1024, 512),
    ) -> None:
        super().__init__()
        if n_features < 1:
            raise ValueError("rad_features must be >= 1")
        self.n_features, self.mode = n_features, mode
        if mode == "mlp":
            h1, h2 = hidden
            self.mlp = nn.Sequential(
                nn.Linear(n_features, h1, bias=False),
                nn.BatchNorm1d(h1),
                nn.ReLU(),
                nn.Linear(h1, h2, bias=False),
                nn.Linear(h2, dim),
            )
        elif mode == "families":
            groups = families if families else equal_groups(n_features)
            bad = [i for g in groups for i in g if not 0 <= int(i) < n_features]
            if bad or not all(groups):
                raise ValueError(
                    f"rad_families: empty group or index out of 0..{n_features - 1}: {bad[:5]}"
                )
            # all families in one batched matmul: columns gathered into (G, longest) slots, the
            # unused slots of shorter families read a constant 0 and have zero weight
            width = max(len(g) for g in groups)
            index = torch.full((len(groups), width), n_features, dtype=torch.long)
            for i, g in enumerate(groups):
                index[i, : len(g)] = torch.as_tensor(g, dtype=torch.long)
            self.register_buffer("index", index, persistent=False)
            self.register_buffer(
                "slot_mask", (index < n_features).float().unsqueeze(-1), persistent=False
            )
            bound = 1 / torch.tensor([len(g) for g in groups], dtype=torch.float).sqrt().view(
                -1, 1, 1
            )
            self.weight = nn.Parameter((torch.rand(len(groups), width, dim) * 2 - 1) * bound)
            self.bias = nn.Parameter((torch.rand(len(groups), dim) * 2 - 1) * bound.view(-1, 1))
            self.norm = nn.LayerNorm(dim)
        else:
            raise ValueError(f"radiomics mode {mode!r}: use 'mlp' or 'families'")

    def forward(self, batch: dict) -> Encoded:
        x = batch["radiomics"]
        if x.dim() != 2 or x.shape[1] != self.n_features:
            raise ValueError(
                f"batch['radiomics'] must be (B,{self.n_features}), got {tuple(x.shape)}"
            )
        if self.mode == "mlp":
            v = self.mlp(x)
            return Encoded(v.unsqueeze(1), torch.ones_like(v[:, :1], dtype=torch.bool), v)
        padded = torch.cat([x, x.new_zeros(x.shape[0], 1)], dim=1)[:, self.index]  # (B, G, width)
        tokens = self.norm(
            torch.einsum("bgf,gfd->bgd", padded, self.weight * self.slot_mask) + self.bias
        )
        mask = torch.ones(tokens.shape[:2], dtype=torch.bool, device=x.device)
        return Encoded(tokens, mask, tokens.mean(1))


class TextEncoder(nn.Module):
    """Clinical note -> Encoded, from precomputed token states or a transformers model.

    Frozen (the cpu/quick default): the language model's token states are computed once and
    cached (`tmiclnet.text.embed`), and the batch carries `text_tokens`/`text_mask`; only the
    projection trains. Fine-tuned: the batch carries `input_ids`/`attention_mask` and the language
    model trains too. `language_model` is a folder/hub name (loaded offline by `tmiclnet.text.load`)
    or an already built transformers model.

    `mode="tokens"`: every state projected to `dim` (Linear + LayerNorm), pooled = their masked
    mean. `mode="released"`: one vector, Linear(H, dim) on the language model's pooler output, as
    the authors' `fc_text(bert(...).pooler_output)`; where no pooler output exists (frozen cached
    states, which hold no pooler state, or a model without a pooler) on the mean of the real
    states: all-MiniLM-L6-v2 is trained to be read by mean pooling, not through its pooler.
    """

    def __init__(
        self,
        dim: int = 256,
        text_dim: int = 384,
        language_model=None,
        finetune: bool = False,
        mode: str = "tokens",
    ) -> None:
        super().__init__()
        self.mode = check_mode(mode)
        self.finetune = finetune
        self.lm = None
        if language_model is not None:
            if isinstance(language_model, nn.Module):
                self.lm = language_model
            else:
                from tmiclnet import text

                self.lm = text.load(language_model)[1]
            text_dim = self.lm.config.hidden_size
            self.lm.requires_grad_(finetune)
        self.text_dim = text_dim
        if mode == "released":
            self.fc = nn.Linear(text_dim, dim)
        else:
            self.proj = nn.Sequential(nn.Linear(text_dim, dim), nn.LayerNorm(dim))

    def train(self, mode: bool = True) -> TextEncoder:
        super().train(mode)
        if self.lm is not None and not self.finetune:
            self.lm.eval()  # a frozen model keeps dropout off
        return self

    def _states(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(token states, mask, the model's pooler output or None)."""
        if "text_tokens" in batch:
            return batch["text_tokens"], batch["text_mask"].bool(), None
        if "text" not in batch or self.lm is None:
            raise KeyError(
                "the text encoder needs batch['text_tokens'] + batch['text_mask'] "
                "(built with use_text_tokens=True) or batch['text'] with input_ids and "
                "attention_mask (built with a text_model)"
            )
        enc = batch["text"]
        with torch.set_grad_enabled(self.finetune and torch.is_grad_enabled()):
            out = self.lm(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
        pooler = getattr(out, "pooler_output", None)
        return out.last_hidden_state, enc["attention_mask"].bool(), pooler

    def forward(self, batch: dict) -> Encoded:
        states, mask, pooler = self._states(batch)
        if states.dim() != 3 or states.shape[-1] != self.text_dim:
            raise ValueError(
                f"text token states must be (B,L,{self.text_dim}), got {tuple(states.shape)}"
            )
        if self.mode == "released":
            vector = pooler if pooler is not None else masked_mean(states, mask)
            return one_token(self.fc(vector.float()))
        tokens = self.proj(states.float())
        return Encoded(tokens, mask, masked_mean(tokens, mask))
