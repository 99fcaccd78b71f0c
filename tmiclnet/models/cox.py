"""A catalogue model trained on time to event: the Cox partial likelihood instead of a label.

The binary models learn "died within the horizon", which has no value for a patient followed for
less than the horizon without a death, so those patients are left out. The Cox proportional
hazards model learns from every patient's follow-up, censored or not: its loss (the negative log
partial likelihood, torchsurv's, Efron's ties) compares, at each death, the dead patient's risk
with the risks of everyone still followed then. A censored patient counts in every comparison up
to their last follow-up.

`CoxModel` wraps a catalogue network unchanged: its two logits become one log hazard ratio,
their difference (so `softmax(logits)[:, 1]` = sigmoid(log hazard), the same order). A batch
carries each patient's follow-up time and event (`tmiclnet.batch.SURVIVAL_KEYS`); its `label` is
the event, which the TMFF loss's alignment term (SDM) reads as the class of a patient, so a fusion
model keeps aligning its modalities as its binary version does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tmiclnet.batch import Batch, ModelOutput

TIES = "efron"


def log_hazard(logits: torch.Tensor) -> torch.Tensor:
    """(B,) log hazard ratio from two-class logits (B, 2): their difference.

    Args:
        logits: the wrapped model's logits.
    """
    return logits[:, 1].float() - logits[:, 0].float()


def cox_loss(log_hz: torch.Tensor, time: torch.Tensor, event: torch.Tensor) -> torch.Tensor:
    """Mean negative log partial likelihood (torchsurv, Efron's ties); zero (with a gradient)
    when the rows hold no event, since a batch without a death compares no one.

    Args:
        log_hz: (B,) log hazard ratios.
        time: (B,) follow-up times.
        event: (B,) True where follow-up ended with the event.
    """
    from torchsurv.loss.cox import neg_partial_log_likelihood

    event = event.bool()
    if int(event.sum()) == 0 or len(log_hz) < 2:
        return log_hz.sum() * 0.0
    return neg_partial_log_likelihood(log_hz, event, time.float(), ties_method=TIES)


class CoxModel(nn.Module):
    """A catalogue network trained with the Cox partial likelihood (plus its alignment term).

    Args:
        inner: the catalogue network (`tmiclnet.models.catalogue.build` of the base model).
    """

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.modalities = inner.modalities

    def forward(self, batch: Batch) -> ModelOutput:
        out = self.inner(batch)
        for key in ("surv_time", "surv_event"):
            if key in batch:
                out[key] = batch[key]
        return out

    def loss(self, output: ModelOutput, labels: torch.Tensor) -> torch.Tensor:
        """Cox loss on the batch's time and event, plus the base model's alignment term.

        The alignment term is the base model's own loss less its cross-entropy: the weighted
        SDM terms of the TMFF loss (`tmiclnet.models.losses`), zero for a one-modality model.
        """
        logits = output["logits"]
        cox = cox_loss(log_hazard(logits), output["surv_time"], output["surv_event"])
        align = self.inner.loss(output, labels) - F.cross_entropy(logits.float(), labels)
        return cox + align

    def validation_loss(self, logits: torch.Tensor, data) -> torch.Tensor:
        """The Cox loss of a whole split (what early stopping and selection read).

        Args:
            logits: (N, 2) of the split's patients.
            data: the split (`tmiclnet.inputs.tensors.TensorData` with survival inputs).
        """
        return cox_loss(log_hazard(logits), data.inputs["surv_time"], data.inputs["surv_event"])
