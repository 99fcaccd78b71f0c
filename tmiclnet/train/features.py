"""Assemble a fold's model inputs as in-memory tensors, fitting every scaler on training rows.

Per cohort, once: CT volumes through the MONAI transforms (cached on disk), radiomic features
(cached per case by tmiclnet.radiomics), and the clinical notes (frozen-encoder token states from
tmiclnet.text.embed, or token ids when the text encoder is fine-tuned). Per fold: the radiomics
pipeline (impute, scale, select) is fitted on the fold's TRAINING rows only and then applied to
all rows, so validation and test patients never shape the scaling.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from tmiclnet import text_lines
from tmiclnet.config import Profile
from tmiclnet.provenance import atomic_write_bytes
from tmiclnet.train.folds import FoldSplit
from tmiclnet.train.tensors import TensorData

MODALITIES = ("ct", "radiomics", "text")


@dataclass
class CohortInputs:
    """Fold-independent inputs of every patient (rows in `ids` order)."""

    ids: list[str]
    labels: torch.Tensor  # (N,) long
    ct: torch.Tensor | None = None  # (N,1,D,H,W) float32
    radiomics: pd.DataFrame | None = None  # raw features, index id
    text: dict = field(default_factory=dict)  # text_tokens+text_mask, or text={input_ids,...}
    info: dict = field(default_factory=dict)  # text_dim, text_key, ct_key ... (for config hashes)


def _file_sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def ct_volumes(cohort, profile: Profile, cache_dir: Path) -> tuple[torch.Tensor, str]:
    """(N,1,D,H,W) volumes of every patient through `CTDataset(train=False)`, cached on disk.

    The cache key covers the cohort manifest (sha256 of every file), the volume shape and the
    transform code, so a regenerated cohort or an edited transform is never served stale.
    """
    from tmiclnet.data import dataset
    from tmiclnet.data.manifest import content_digest

    key = hashlib.sha256(
        "|".join(
            [
                content_digest(cohort.root),  # cohort.json's sha256, or the files' if none
                str(profile.volume_shape),
                _file_sha(Path(dataset.__file__)),
                ",".join(cohort.ids),
            ]
        ).encode()
    ).hexdigest()[:16]
    path = Path(cache_dir) / f"ct_{cohort.name}_{key}.pt"
    if path.exists():
        return torch.load(path, map_location="cpu", weights_only=True), key
    ds = dataset.CTDataset(cohort, cohort.ids, profile, train=False)
    vols = [
        torch.as_tensor(np.asarray(ds[i]["ct"]), dtype=torch.float32)
        for i in tqdm(range(len(ds)), desc=f"CT volumes ({cohort.name})", unit="case")
    ]
    ct = torch.stack(vols).contiguous()
    buf = io.BytesIO()
    torch.save(ct, buf)
    atomic_write_bytes(path, buf.getvalue())
    return ct, key


def text_inputs(cohort, profile: Profile) -> tuple[dict, dict]:
    """Frozen: cached token states (text_tokens, text_mask), one per note line with its number
    (`profile.text_lines`) or pooled to `profile.text_pool` windows. Fine-tuned: token ids (text)."""
    from tmiclnet import text

    notes = {pid: cohort.note(pid) for pid in cohort.ids}
    if profile.text_finetune:
        tokenizer, model = text.load(profile.text_model)
        enc = text.tokenize([notes[i] for i in cohort.ids], tokenizer, profile.text_max_tokens)
        key = hashlib.sha256(str(enc["input_ids"].tolist()).encode()).hexdigest()[:16]
        return {"text": enc}, {"text_dim": int(model.config.hidden_size), "text_key": key}
    emb = text.embed(notes, profile.text_model, profile.text_max_tokens).select(cohort.ids)
    tokens, mask = frozen_text_tokens(emb.tokens, emb.mask, [notes[i] for i in cohort.ids], profile)
    info = {"text_dim": int(tokens.shape[-1]), "text_key": emb.key, "text_pool": profile.text_pool}
    if profile.text_lines:
        info["text_lines"] = [profile.text_lines, text_lines.VERSION]
    return {"text_tokens": tokens, "text_mask": mask}, info


def frozen_text_tokens(
    states: torch.Tensor, mask: torch.Tensor, notes: list[str], profile: Profile, tokenizer=None
) -> tuple[torch.Tensor, torch.Tensor]:
    """What a model reads of frozen word-piece states under the profile: line tokens with their
    numbers, windows, or every word piece. Differentiable in `states` (for attributions)."""
    if profile.text_lines:
        from tmiclnet import text

        tokenizer = tokenizer or text.load_tokenizer(profile.text_model)[0]
        return text_lines.line_tokens(
            notes, states, mask, tokenizer, profile.text_max_tokens, profile.text_lines
        )
    if profile.text_pool:
        return pool_text_tokens(states, mask, profile.text_pool)
    return states, mask


def load_inputs(cohort, profile: Profile, modalities: set[str], cache_dir: Path) -> CohortInputs:
    """Everything the requested modalities need, for every patient of the cohort."""
    unknown = set(modalities) - set(MODALITIES)
    if unknown:
        raise ValueError(f"unknown modalities {sorted(unknown)}; expected some of {MODALITIES}")
    labels = torch.tensor(cohort.labels.loc[cohort.ids].to_numpy(), dtype=torch.long)
    out = CohortInputs(list(cohort.ids), labels)
    if "ct" in modalities:
        out.ct, out.info["ct_key"] = ct_volumes(cohort, profile, cache_dir)
    if "radiomics" in modalities:
        from tmiclnet import radiomics

        feats = radiomics.features(cohort, profile)
        missing = [pid for pid in cohort.ids if pid not in feats.index]
        if missing:
            raise ValueError(
                f"radiomics: no features for patient {missing[0]!r} "
                f"({len(missing)} missing) in cohort {cohort.root}"
            )
        out.radiomics = feats.loc[cohort.ids]
        out.info["radiomics_key"] = hashlib.sha256(
            pd.util.hash_pandas_object(out.radiomics).to_numpy().tobytes()
        ).hexdigest()[:16]
    if "text" in modalities:
        out.text, info = text_inputs(cohort, profile)
        out.info.update(info)
    return out


@dataclass
class FoldInputs:
    """One fold's tensors (all patients, radiomics scaled on its training rows) and split."""

    data: TensorData
    split: FoldSplit
    rad_families: list[list[int]] = field(default_factory=list)
    rad_columns: list[str] = field(default_factory=list)

    def parts(self) -> tuple[TensorData, TensorData, TensorData]:
        return (
            self.data.subset(self.split.train),
            self.data.subset(self.split.val),
            self.data.subset(self.split.test),
        )


def scale_radiomics(raw: pd.DataFrame, labels: pd.Series, train_ids: list[str], profile: Profile):
    """The fold's pipeline fitted on `train_ids` only; returns (all rows scaled, columns, families)."""
    from tmiclnet.radiomics import family_indices
    from tmiclnet.radiomics.preprocess import fit_fold, transform

    pipe = fit_fold(raw, labels, train_ids, profile)
    scaled = transform(pipe, raw, list(raw.index))
    columns = [str(c) for c in scaled.columns]
    values = torch.from_numpy(np.ascontiguousarray(scaled.to_numpy(dtype=np.float32)))
    return values, columns, family_indices(columns)


def fold_inputs(inputs: CohortInputs, split: FoldSplit, profile: Profile) -> FoldInputs:
    """Tensors for every patient of the cohort, scaled with this fold's training rows."""
    tensors: dict = {"present": torch.ones(len(inputs.ids), 3, dtype=torch.bool)}
    if inputs.ct is not None:
        tensors["ct"] = inputs.ct
    tensors.update(inputs.text)
    columns, families = [], []
    if inputs.radiomics is not None:
        labels = pd.Series(inputs.labels.numpy(), index=inputs.ids)
        tensors["radiomics"], columns, families = scale_radiomics(
            inputs.radiomics, labels, split.train, profile
        )
    data = TensorData(inputs.ids, tensors, inputs.labels)
    return FoldInputs(data, split, families, columns)


def pool_text_tokens(
    tokens: torch.Tensor, mask: torch.Tensor, segments: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Average each note's real token states over `segments` contiguous windows.

    (N, L, H) -> (N, segments, H): attention cost falls with the square of the token count, and a
    note of "Key: value" fields keeps one token per few fields. A note shorter than `segments`
    keeps one window per real token (the rest masked out).
    """
    n, _, h = tokens.shape
    out = torch.zeros(n, segments, h, dtype=tokens.dtype)
    out_mask = torch.zeros(n, segments, dtype=torch.bool)
    for i in range(n):
        real = tokens[i, mask[i]]  # (n_i, H)
        k = min(segments, len(real))
        if k == 0:
            continue
        out[i, :k] = torch.nn.functional.adaptive_avg_pool1d(real.T.unsqueeze(0), k)[0].T
        out_mask[i, :k] = True
    return out, out_mask
