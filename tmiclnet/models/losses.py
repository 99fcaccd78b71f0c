"""The TMFF loss: cross-entropy plus similarity distribution matching (SDM) between modalities.

SDM (from IRRA) asks the distribution of cosine similarities between one modality's vectors and
another's to match the label distribution: a sample should be most similar to the other
modality's vectors of patients with the same label. Modality order is ("ct", "radiomics",
"text"), so m1 = CT, m2 = radiomics, m3 = text: the CT-radiomics pair (both read the same
liver) gets weight 1 - w1, the two pairs with the clinical text share w1.
The released code applied cross-entropy to sigmoid outputs; we apply it to logits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def sdm_loss(
    a: torch.Tensor,
    b: torch.Tensor,
    labels: torch.Tensor,
    logit_scale: float = 2.0,
    eps: float = 1e-8,
) -> torch.Tensor:
    """SDM between paired vectors a, b (B,d) with labels (B,): KL(P || Q) both ways, mean over rows.

    S = s * a_hat @ b_hat.T (rows L2-normalised), P = softmax(S) row-wise, Q[i,j] = 1[y_i = y_j] /
    #{k: y_k = y_i}; the loss is mean_i sum_j P (log P - log(Q + eps)) for S and for S.T.
    Symmetric in (a, b).

    Args:
        a: (B, d) vectors of one modality.
        b: (B, d) vectors of the other modality, paired with `a` by row.
        labels: (B,) integer class labels; rows with equal labels are matches in Q.
        logit_scale: s, the scale of the cosine similarities.
        eps: added to Q before its log, so non-matches give a finite log.
    """
    if a.shape != b.shape or a.dim() != 2 or labels.shape != a.shape[:1]:
        raise ValueError(
            f"sdm_loss needs a, b (B,d) and labels (B,): got {tuple(a.shape)}, "
            f"{tuple(b.shape)}, {tuple(labels.shape)}"
        )
    a_hat, b_hat = F.normalize(a.float(), dim=1), F.normalize(b.float(), dim=1)
    scores = logit_scale * a_hat @ b_hat.T
    same = (labels.view(-1, 1) == labels.view(1, -1)).float()
    q = same / same.sum(dim=1, keepdim=True)
    log_q = torch.log(q + eps)

    def kl(s: torch.Tensor) -> torch.Tensor:
        log_p = F.log_softmax(s, dim=1)
        return (log_p.exp() * (log_p - log_q)).sum(dim=1).mean()

    return kl(scores) + kl(scores.T)


class TMFFLoss(nn.Module):
    """CE(logits, labels) + w2 * ((1-w1) * SDM(m1,m2) + w1 * (SDM(m2,m3) + SDM(m1,m3)) / 2).

    `present` (B,3) bool, optional: each SDM term uses only the rows that have both modalities
    (and is skipped when fewer than two such rows remain), so a missing modality never adds a
    made-up vector to the similarity matrix.

    Args:
        w1: in [0, 1]: weight of the two pairs with m3 against the (m1, m2) pair.
        w2: weight of the SDM terms against the cross-entropy (0: cross-entropy only).
        logit_scale: s of every SDM term (`sdm_loss`).
    """

    def __init__(self, w1: float = 0.2, w2: float = 0.01, logit_scale: float = 2.0) -> None:
        super().__init__()
        self.w1, self.w2, self.logit_scale = w1, w2, logit_scale

    def pair(self, a, b, labels, rows: torch.Tensor | None = None) -> torch.Tensor:
        """SDM on the rows where both modalities are present (zero if fewer than two)."""
        if rows is not None and not bool(rows.all()):
            if int(rows.sum()) < 2:
                return a.new_zeros(())
            a, b, labels = a[rows], b[rows], labels[rows]
        return sdm_loss(a, b, labels, self.logit_scale)

    def forward(
        self, m1, m2, m3, logits, labels, present: torch.Tensor | None = None
    ) -> torch.Tensor:
        ce = F.cross_entropy(logits.float(), labels)
        if self.w2 == 0:
            return ce
        both = (
            (lambda i, j: present[:, i] & present[:, j])
            if present is not None
            else (lambda i, j: None)
        )
        align = (1 - self.w1) * self.pair(m1, m2, labels, both(0, 1)) + self.w1 * (
            self.pair(m2, m3, labels, both(1, 2)) + self.pair(m1, m3, labels, both(0, 2))
        ) / 2
        return ce + self.w2 * align
