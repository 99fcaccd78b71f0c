"""Assemble a fold's model inputs as in-memory tensors, fitting every scaler on training rows.

Per cohort, once: CT volumes through the MONAI transforms (cached on disk), radiomic features
(cached per case by tmiclnet.radiomics), and the clinical notes (`tmiclnet.text.text_inputs`:
frozen-encoder token states, or token ids when the text encoder is fine-tuned). Per fold: the
radiomics pipeline (impute, scale, select) and the notes' value channels (each field's mean and
sd, `tmiclnet.text.values`) are fitted on the fold's TRAINING rows only and then applied to all
rows, so validation and test patients never shape the scaling.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from tmiclnet import keys
from tmiclnet.batch import MODALITIES
from tmiclnet.config import Profile, cache_root
from tmiclnet.inputs.folds import FoldSplit
from tmiclnet.inputs.tensors import TensorData
from tmiclnet.provenance import atomic_torch_save


@dataclass
class CohortInputs:
    """Fold-independent inputs of every patient (rows in `ids` order)."""

    ids: list[str]
    labels: torch.Tensor  # (N,) long
    ct: torch.Tensor | None = None  # (N,1,D,H,W) float32
    radiomics: pd.DataFrame | None = None  # raw features, index id
    # line parts (line_states, line_field, line_value, text_mask; `tmiclnet.text.values.fold_text`
    # makes a fold's text_tokens), or text_tokens+text_mask, or text={input_ids,...}
    text: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)  # text_dim, text_key, ct_key ... (for config hashes)


def _file_sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _unlisted_images(cohort) -> list[str]:
    """sha256 of the images that cohort.json does not list (a hand-written manifest may omit
    them); empty for a generated cohort, whose manifest lists every file, and for a folder without
    cohort.json, whose content digest already covers every file."""
    if not (Path(cohort.root) / "cohort.json").exists():
        return []
    listed = (getattr(cohort, "manifest", None) or {}).get("files", {})
    return [
        _file_sha(cohort.image_path(pid))
        for pid in cohort.ids
        if f"images/{pid}.nii.gz" not in listed
    ]


def ct_volumes(
    cohort, profile: Profile, cache_dir: str | Path | None = None
) -> tuple[torch.Tensor, str]:
    """(N,1,D,H,W) volumes of every patient through `CTDataset(train=False)`, cached on disk.

    The cache key covers the cohort manifest (sha256 of every file), the volume shape and the
    transform code (`tmiclnet.keys.CT_CODE`), so a regenerated cohort or an edited transform is
    never served stale, and two cohorts of one name in different data folders can share the
    cache.

    Args:
        cohort: the cohort (`tmiclnet.data.cohort.Cohort`).
        profile: its volume_shape is read.
        cache_dir: where the volumes are cached; None = `<cache root>/ct`
            (:func:`tmiclnet.config.cache_root`).
    """
    from tmiclnet.data import dataset
    from tmiclnet.data.manifest import content_digest

    key = hashlib.sha256(
        "|".join(
            [
                content_digest(cohort.root),  # cohort.json's sha256, or the files' if none
                str(profile.volume_shape),
                keys.code_hash(keys.CT_CODE),
                ",".join(cohort.ids),
                *_unlisted_images(cohort),
            ]
        ).encode()
    ).hexdigest()[:16]
    folder = Path(cache_dir) if cache_dir is not None else cache_root() / "ct"
    path = folder / f"ct_{cohort.name}_{key}.pt"
    if path.exists():
        return torch.load(path, map_location="cpu", weights_only=True), key
    ds = dataset.CTDataset(cohort, cohort.ids, profile, train=False)
    vols = [
        torch.as_tensor(np.asarray(ds[i]["ct"]), dtype=torch.float32)
        for i in tqdm(range(len(ds)), desc=f"CT volumes ({cohort.name})", unit="case")
    ]
    ct = torch.stack(vols).contiguous()
    atomic_torch_save(path, ct)
    return ct, key


def load_inputs(
    cohort, profile: Profile, modalities: set[str], cache_dir: str | Path | None = None
) -> CohortInputs:
    """Everything the requested modalities need, for every patient of the cohort.

    Args:
        cohort: the cohort (`tmiclnet.data.cohort.Cohort`).
        profile: the run's profile.
        modalities: some of MODALITIES.
        cache_dir: where CT volumes are cached; None = `<cache root>/ct` (see :func:`ct_volumes`).
    """
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
        from tmiclnet.text import text_inputs

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
    text_scale: object | None = None  # the notes' value statistics (`tmiclnet.text.FieldScale`)

    def parts(self) -> tuple[TensorData, TensorData, TensorData]:
        return (
            self.data.subset(self.split.train),
            self.data.subset(self.split.val),
            self.data.subset(self.split.test),
        )


def scale_radiomics(raw: pd.DataFrame, labels: pd.Series, train_ids: list[str], profile: Profile):
    """The fold's pipeline fitted on `train_ids` only: (all rows scaled, columns, families)."""
    from tmiclnet.radiomics import family_indices
    from tmiclnet.radiomics.preprocess import fit_fold, transform

    pipe = fit_fold(raw, labels, train_ids, profile)
    scaled = transform(pipe, raw, list(raw.index))
    columns = [str(c) for c in scaled.columns]
    values = torch.from_numpy(np.ascontiguousarray(scaled.to_numpy(dtype=np.float32)))
    return values, columns, family_indices(columns)


def fold_inputs(inputs: CohortInputs, split: FoldSplit, profile: Profile) -> FoldInputs:
    """Tensors for every patient of the cohort, scaled with this fold's training rows."""
    from tmiclnet.text import fold_text

    tensors: dict = {"present": torch.ones(len(inputs.ids), 3, dtype=torch.bool)}
    if inputs.ct is not None:
        tensors["ct"] = inputs.ct
    text, scale = fold_text(inputs.text, inputs.info.get("text_fields"), inputs.ids, split.train)
    tensors.update(text)
    columns, families = [], []
    if inputs.radiomics is not None:
        labels = pd.Series(inputs.labels.numpy(), index=inputs.ids)
        tensors["radiomics"], columns, families = scale_radiomics(
            inputs.radiomics, labels, split.train, profile
        )
    data = TensorData(inputs.ids, tensors, inputs.labels)
    return FoldInputs(data, split, families, columns, scale)
