"""Every input of a fold held as tensors in memory, so a training step never waits for disk.

A batch is a row selection of each tensor: with the CT volumes, radiomics, text tokens and the
modality mask already decoded and scaled, data loading costs a few index operations per step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from tmiclnet.batch import MODALITIES, MODALITY_OF, SURVIVAL_KEYS, rows_of

Tensors = dict[str, "torch.Tensor | dict[str, torch.Tensor]"]


def _take(value, rows: torch.Tensor):
    if isinstance(value, dict):
        return {k: _take(v, rows) for k, v in value.items()}
    return value.index_select(0, rows)


def _to(value, device: torch.device):
    if isinstance(value, dict):
        return {k: _to(v, device) for k, v in value.items()}
    return value.to(device, non_blocking=True)


@dataclass
class TensorData:
    """Patients `ids` with their model inputs (first dimension = patient) and labels."""

    ids: list[str]
    inputs: Tensors  # keys of tmiclnet.batch.Batch (label excepted)
    labels: torch.Tensor  # (N,) long

    def __post_init__(self) -> None:
        n = len(self.ids)
        if self.labels.shape != (n,):
            raise ValueError(f"labels have shape {tuple(self.labels.shape)}, expected ({n},)")
        for key, value in self._flat():
            if value.shape[0] != n:
                raise ValueError(f"input {key!r} has {value.shape[0]} rows for {n} patients")

    def _flat(self):
        for key, value in self.inputs.items():
            if isinstance(value, dict):
                yield from ((f"{key}.{k}", v) for k, v in value.items())
            else:
                yield key, value

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, ids: list[str]) -> TensorData:
        """The rows of `ids`, in that order."""
        rows = rows_of(self.ids, ids)
        return TensorData(list(ids), _take(self.inputs, rows), self.labels.index_select(0, rows))

    def batch(self, rows: torch.Tensor, device: torch.device) -> dict:
        """The model batch of `rows` (indices into this data) on `device`, with its "label"."""
        out = _to(_take(self.inputs, rows), device)
        out["label"] = self.labels.index_select(0, rows).to(device)
        return out

    def for_model(self, modalities: tuple[str, ...], ct_tokens: torch.Tensor | None = None):
        """Only the tensors a model of `modalities` reads (indexing unused CT volumes would waste
        loading time); with `ct_tokens`, those take the place of the CT volumes."""
        keep = {"present": self.inputs["present"]}
        for key, value in self.inputs.items():
            mine = MODALITY_OF.get(key) in modalities and key not in ("ct", "ct_tokens")
            if mine or key in SURVIVAL_KEYS:  # SURVIVAL_KEYS: a Cox-trained model's time, event
                keep[key] = value
        if "ct" in modalities:
            keep.update(
                {"ct_tokens": ct_tokens} if ct_tokens is not None else {"ct": self.inputs["ct"]}
            )
        return TensorData(self.ids, keep, self.labels)


def modality_dropout_mask(
    n: int, modalities: tuple[str, ...], p: float, seed: int, epoch: int
) -> torch.Tensor:
    """(n, 3) bool "present" for every training row this epoch: each of the model's modalities
    is dropped with probability p, and a row that would lose them all keeps one at random.

    Drawn per row from a generator seeded by (seed, epoch), so single-process and DDP runs, and
    a resumed run, drop the same modalities of the same patients."""
    present = torch.ones(n, len(MODALITIES), dtype=torch.bool)
    used = [MODALITIES.index(m) for m in modalities]
    if p <= 0 or len(used) < 2:
        return present
    g = torch.Generator().manual_seed(1_000_003 * seed + epoch)
    drop = torch.rand(n, len(used), generator=g) < p
    rescue = torch.randint(len(used), (n,), generator=g)
    lost_all = drop.all(1)
    drop[lost_all, rescue[lost_all]] = False
    present[:, used] = ~drop
    return present
