"""TMI-CLNet and every model of the catalogue built from the same parts.

One class, switched by parameters, so the baselines and ablations differ from the full model in
exactly one thing: the modalities it reads, the variant (`tokens` | `released`), whether IMA runs,
how vectors are fused (`tcaf` | `concat`) and whether the TMFF alignment term is on (w2 > 0).

What a model reads and returns is `tmiclnet.batch` (Batch, ModelOutput, MODALITIES: the modality
order everywhere; the TMFF loss reads m1 = CT, m2 = radiomics, m3 = text). A modality missing
for a sample (`present[:, i]` False) is masked out of every attention; where vectors are
concatenated it is replaced by a learned "missing" vector, never by zeros, and the model still
predicts.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tmiclnet.batch import MODALITIES, Batch, ModelOutput, batch_size_of, blank_absent, present_mask
from tmiclnet.config import Profile
from tmiclnet.models.encoders import CTEncoder, Encoded, RadiomicsEncoder, TextEncoder
from tmiclnet.models.heads import DenseNet1D, MLPHead
from tmiclnet.models.ima import IMA
from tmiclnet.models.losses import TMFFLoss
from tmiclnet.models.tcaf import ReleasedTCAF, TokenTCAF

VARIANTS = ("tokens", "released")
FUSIONS = ("tcaf", "concat")


class TMICLNet(nn.Module):
    """Encoders -> IMA -> fusion -> head, for any subset of the three modalities.

    Sizes that differ between profiles default to `tmiclnet.config.Profile`'s defaults (the one
    source of defaults); `tmiclnet.models.model_config(profile)` passes a profile's values.

    Args:
        modalities: the modalities the model reads, any non-empty subset of `MODALITIES`.
        variant: "tokens" (the paper: attention over tokens) or "released" (the authors' code:
            one vector per modality, built as their encoders build it; their dropouts, their
            DenseNet head).
        ima: run intra-modal attention (False: tokens mean-pooled instead).
        fusion: "tcaf" (cross-attention fusion) or "concat" (concatenated vectors).
        w1: weight of the TMFF loss's intra-modal term.
        w2: weight of the TMFF loss's cross-modal alignment term (0: cross-entropy only).
        rad_features: number of radiomic columns (required; 1 when radiomics are not read).
        rad_families: column indices of each radiomic family (one token per family).
        rad_hidden: hidden widths of the released variant's radiomics MLP.
        text_model: language model folder, hub name or module (fine-tuned text only).
        text_dim: width of the frozen text token states in the batch.
        text_finetune: train the language model too.
        use_text_tokens: read frozen `text_tokens` from the batch instead of running a model.
        ct_depth: depth of the MONAI 3-D ResNet (10, 18, 34 or 50).
        ct_widen: width factor of that ResNet.
        use_ct_tokens: read cached `ct_tokens` from the batch (no CNN in the model).
        ct_token_dim: width of those cached tokens (default: the ResNet's last stage).
        ct_conv1_stride: stride of the ResNet's first convolution.
        ct_conv1_size: kernel size of that convolution (MONAI's default 7).
        ct_channels_last: run the ResNet in channels-last 3-D memory format (faster on a CPU).
        ct_norm: the ResNet's normalisation, "batch", "group" or "instance" (`CtNorm`).
        dim: width of every token after the encoders.
        heads: attention heads (default 16 for "released", as the paper; 4 for "tokens").
        dropout: dropout of IMA's output and the MLP head (IMA's attention weights too in the
            tokens variant; the released variant keeps the authors' 0.5 there, 0.1 in TCAF and
            0.5 in the DenseNet head).
        head: size of the released variant's 1-D DenseNet head ("small" or "densenet121").
    """

    def __init__(
        self,
        modalities: tuple[str, ...] = MODALITIES,
        variant: str = "tokens",
        ima: bool = True,
        fusion: str = "tcaf",
        w1: float = 0.2,
        w2: float = 0.01,
        *,
        rad_features: int,
        rad_families: list[list[int]] | None = None,
        rad_hidden: tuple[int, int] = Profile.rad_hidden,
        text_model=None,
        text_dim: int = 384,
        text_finetune: bool = Profile.text_finetune,
        use_text_tokens: bool = True,
        ct_depth: int = Profile.ct_depth,
        ct_widen: float = Profile.ct_widen,
        use_ct_tokens: bool = False,
        ct_token_dim: int | None = None,
        ct_conv1_stride: int = Profile.ct_conv1_stride,
        ct_conv1_size: int = Profile.ct_conv1_size,
        ct_channels_last: bool = Profile.ct_channels_last,
        ct_norm: str = Profile.ct_norm,
        dim: int = Profile.fusion_dim,
        heads: int | None = None,
        dropout: float = 0.2,
        head: str = Profile.released_head,
    ) -> None:
        super().__init__()
        bad = [m for m in modalities if m not in MODALITIES]
        if bad or not modalities:
            raise ValueError(f"modalities {modalities!r}: choose from {MODALITIES}")
        if variant not in VARIANTS or fusion not in FUSIONS:
            raise ValueError(f"variant {variant!r} / fusion {fusion!r}: use {VARIANTS} / {FUSIONS}")
        self.modalities = tuple(m for m in MODALITIES if m in modalities)
        self.variant, self.fusion, self.w1, self.w2 = variant, fusion, w1, w2
        enc: dict[str, nn.Module] = {}
        enc_mode = "released" if variant == "released" else "tokens"  # how vectors are made
        if "ct" in self.modalities:
            enc["ct"] = CTEncoder(
                dim, ct_depth, ct_widen, use_ct_tokens, ct_token_dim, ct_conv1_stride,
                ct_channels_last, mode=enc_mode, conv1_size=ct_conv1_size, norm=ct_norm,
            )  # fmt: skip
        if "radiomics" in self.modalities:
            mode = "families" if variant == "tokens" else "mlp"
            enc["radiomics"] = RadiomicsEncoder(
                rad_features, dim, mode, rad_families, tuple(rad_hidden)
            )
        if "text" in self.modalities:
            lm = None if use_text_tokens else text_model
            if not use_text_tokens and lm is None:
                raise ValueError(
                    "use_text_tokens=False needs text_model (a folder, hub name or model)"
                )
            enc["text"] = TextEncoder(dim, text_dim, lm, text_finetune, mode=enc_mode)
        self.encoders = nn.ModuleDict(enc)
        heads = heads or (16 if variant == "released" else 4)  # the paper's 16; tokens: cheaper
        self.ima = nn.ModuleDict(
            {m: IMA(dim, variant, ima, heads, dropout) for m in self.modalities}
        )
        k = len(self.modalities)
        self.missing = nn.Parameter(
            torch.randn(k, dim) * 0.02
        )  # learned stand-in for an absent modality
        self.tcaf = None
        if k > 1 and fusion == "tcaf":
            self.tcaf = ReleasedTCAF(k) if variant == "released" else TokenTCAF(k, dim, heads=heads)
        width = dim if (k == 1 or (fusion == "tcaf" and variant == "tokens")) else k * dim
        self.head = (
            DenseNet1D(head) if variant == "released" and k > 1 else MLPHead(width, dropout=dropout)
        )
        self.tmff = TMFFLoss(w1, w2)

    # -- forward ---------------------------------------------------------------------------------
    def _encode(self, batch: dict, present: torch.Tensor) -> dict[str, Encoded]:
        out = {}
        for p, m in enumerate(self.modalities):
            e = self.encoders[m](batch)
            tokens, mask = (
                (e.pooled.unsqueeze(1), torch.ones_like(e.mask[:, :1]))
                if self.variant == "released"
                else (e.tokens, e.mask)
            )
            here = present[:, p]
            tokens = torch.where(here.view(-1, 1, 1), tokens, torch.zeros_like(tokens))
            out[m] = Encoded(tokens, mask & here.view(-1, 1), e.pooled)
        return out

    def _fuse(self, vecs: list, toks: list, masks: list, present: torch.Tensor, attention: dict):
        stand_in = lambda v: torch.where(present.unsqueeze(-1), v, self.missing.expand_as(v))  # noqa: E731
        stacked = torch.stack(vecs, dim=1)  # (B, k, dim)
        if len(vecs) == 1 or self.fusion == "concat":
            return stand_in(stacked).flatten(1)
        if self.variant == "released":
            outs, maps, ctx = self.tcaf(stacked, present)
            for p, w in maps.items():
                attention[f"tcaf/{self.modalities[p]}"] = w
            attention["tcaf/context"] = ctx
            # the release concatenates text, radiomics, CT: the reverse of MODALITIES
            return stand_in(outs).flip(1).flatten(1)
        outs, maps = self.tcaf(vecs, toks, masks, present)
        for p, w in maps.items():
            attention[f"tcaf/{self.modalities[p]}"] = w
        w = present.unsqueeze(-1).to(outs.dtype)
        return (outs * w).sum(1) / w.sum(1).clamp(min=1.0)  # mean over the modalities a sample has

    def forward(self, batch: Batch) -> ModelOutput:
        """A `tmiclnet.batch.Batch` -> a `tmiclnet.batch.ModelOutput` (logits (B,2), features
        [m1,m2,m3] (B,dim) or None, attention {name: map}, present (B,3)).

        attention keys: "ima/<m>/self" (B,N,N), "ima/<m>/pool" (B,N), "tcaf/<m>" (tokens: (B, keys
        of the other modalities); released: (B,C,C) channel-to-channel), "tcaf/context" (released:
        which modality each one queried, (B,k)).
        """
        b, device = batch_size_of(batch)
        present_all = present_mask(batch, b, device)
        present = present_all[:, [MODALITIES.index(m) for m in self.modalities]]
        encoded = self._encode(blank_absent(batch, present_all), present)
        attention: dict[str, torch.Tensor] = {}
        vecs, toks, masks = [], [], []
        for m in self.modalities:
            t, v, maps = self.ima[m](encoded[m].tokens, encoded[m].mask)
            for name, w in maps.items():
                attention[f"ima/{m}/{name}"] = w
            vecs.append(v), toks.append(t), masks.append(encoded[m].mask)
        fused = self._fuse(vecs, toks, masks, present, attention)
        features = [
            vecs[self.modalities.index(m)] if m in self.modalities else None for m in MODALITIES
        ]
        return {
            "logits": self.head(fused),
            "features": features,
            "attention": attention,
            "present": present_all,
        }

    # -- loss ------------------------------------------------------------------------------------
    def loss(self, output: ModelOutput, labels: torch.Tensor) -> torch.Tensor:
        """TMFF (CE + weighted SDM between modality pairs) when w2 > 0 and there are >= 2
        modalities,
        plain cross-entropy otherwise. SDM terms use only rows where both modalities are present."""
        logits, present = output["logits"], output.get("present")
        feats = output["features"]
        if self.w2 == 0 or len(self.modalities) < 2:
            return F.cross_entropy(logits.float(), labels)
        if len(self.modalities) == 3:
            return self.tmff(*feats, logits, labels, present=present)
        i, j = (MODALITIES.index(m) for m in self.modalities)
        rows = None if present is None else present[:, i] & present[:, j]
        return F.cross_entropy(logits.float(), labels) + self.w2 * self.tmff.pair(
            feats[i], feats[j], labels, rows
        )
