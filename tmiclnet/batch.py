"""The contract between data and models: what a batch holds and what a model returns.

Every model of the catalogue reads a `Batch` and returns a `ModelOutput`. A batch is a plain dict
(so it moves to a device, splits and indexes like any tensor dict), typed here once: the keys, the
modality each key belongs to, and the modality order that every (B, 3) mask and every list of
per-modality features follows.

A modality may be missing for a sample: `present[:, i]` False. Models never see its raw values
(`blank_absent` zeroes them) and mask it out of attention.
"""

from __future__ import annotations

from typing import TypedDict

import torch

# The order of every (B, 3) "present" mask and of ModelOutput["features"]; the TMFF loss reads
# m1 = CT, m2 = radiomics, m3 = text.
MODALITIES: tuple[str, ...] = ("ct", "radiomics", "text")


class TextIds(TypedDict):
    """A fine-tuned language model's input: token ids and attention mask, (B, L) each."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor


class Batch(TypedDict, total=False):
    """A model batch; first dimension = patient. Each model reads the keys of its modalities.

    ct: (B, 1, D, H, W) float CT volumes in [0, 1] (the CNN encoder reads them), or
    ct_tokens: (B, N, C) the CT-only model's feature-map tokens (cached-CT models read these);
    radiomics: (B, F) scaled radiomic features;
    text: token ids of the notes (fine-tuned text encoder), or
    text_tokens: (B, L, H) frozen-encoder token states, with text_mask: (B, L) bool, True = real;
    present: (B, 3) bool, which modalities each patient has, in `MODALITIES` order;
    label: (B,) long, 1 = event within the horizon (training and evaluation only).
    """

    ct: torch.Tensor
    ct_tokens: torch.Tensor
    radiomics: torch.Tensor
    text: TextIds
    text_tokens: torch.Tensor
    text_mask: torch.Tensor
    present: torch.Tensor
    label: torch.Tensor


# Survival inputs of a Cox-trained model's batch (`tmiclnet.models.cox`): follow-up time (B,)
# float and event (B,) bool. They belong to no modality; a model that reads them says so.
SURVIVAL_KEYS: tuple[str, ...] = ("surv_time", "surv_event")

# The modality each input key belongs to ("present" and "label" belong to none).
MODALITY_OF: dict[str, str] = {
    "ct": "ct",
    "ct_tokens": "ct",
    "radiomics": "radiomics",
    "text": "text",
    "text_tokens": "text",
    "text_mask": "text",
}


class ModelOutput(TypedDict, total=False):
    """What `model(batch)` returns.

    logits: (B, 2) class scores; features: one pooled vector (B, dim) per modality in `MODALITIES`
    order, None for a modality the model does not read; attention: {name: map} (see
    `TMICLNet.forward`); present: (B, 3) the mask the model used; member_logits: late fusion only,
    each member's logits by modality.
    """

    logits: torch.Tensor
    features: list[torch.Tensor | None]
    attention: dict[str, torch.Tensor]
    present: torch.Tensor
    member_logits: dict[str, torch.Tensor]


def rows_of(ids: list[str], wanted: list[str], what: str = "inputs") -> torch.Tensor:
    """Row indices (long) of `wanted` in `ids`, in `wanted`'s order; a KeyError names the first
    id that has no row (`what` says of what, for the message)."""
    where = {pid: i for i, pid in enumerate(ids)}
    missing = [pid for pid in wanted if pid not in where]
    if missing:
        raise KeyError(f"no {what} for patient {missing[0]!r} ({len(missing)} missing)")
    return torch.tensor([where[pid] for pid in wanted], dtype=torch.long)


def present_mask(batch: Batch, batch_size: int, device) -> torch.Tensor:
    """batch['present'] (B,3) bool, or all True when the batch does not say."""
    present = batch.get("present")
    if present is None:
        return torch.ones(batch_size, len(MODALITIES), dtype=torch.bool, device=device)
    if present.shape != (batch_size, len(MODALITIES)):
        raise ValueError(
            f"batch['present'] must be (B,3) over {MODALITIES}, got {tuple(present.shape)}"
        )
    return present.to(device=device, dtype=torch.bool)


def batch_size_of(batch: Batch) -> tuple[int, torch.device]:
    """(B, device) of a batch, read from the first input it holds."""
    for key in ("radiomics", "ct_tokens", "ct", "text_tokens", "label"):
        if key in batch:
            return batch[key].shape[0], batch[key].device
    if "text" in batch:
        return batch["text"]["input_ids"].shape[0], batch["text"]["input_ids"].device
    raise KeyError("the batch holds no modality (ct/ct_tokens, radiomics, text/text_tokens)")


def blank_absent(batch: Batch, present: torch.Tensor) -> Batch:
    """Zero the raw float inputs of absent samples so NaN or garbage cannot leak through batch
    norm; those samples are masked out of attention afterwards, so the zeros are never attended
    to. Masks and token ids are left as they are."""
    out = dict(batch)
    for key, modality in MODALITY_OF.items():
        value = out.get(key)
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            col = MODALITIES.index(modality)
            keep = present[:, col].view(-1, *([1] * (value.dim() - 1)))
            out[key] = torch.where(keep, torch.nan_to_num(value), torch.zeros_like(value))
    return out
