"""The patchwise contrastive loss PatchNCE (Park et al., "Contrastive Learning for Unpaired
Image-to-Image Translation", ECCV 2020, eq. 2-3).

The weight (``lambda_nce``) and the averaging over layers are applied by the method.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from i2i.losses._reduction import Reduction, check_same_shape, reduce_loss


def patch_nce_loss(
    query: Tensor, key: Tensor, *, temperature: float = 0.07, reduction: Reduction = "mean"
) -> Tensor:
    """InfoNCE over patches: each query patch must pick its own key patch among the image's patches.

    For image ``b`` and patch ``i``, the logits are ``query[b, i] . key[b, j] / temperature`` over all
    patches ``j`` of the same image; the positive is ``j = i`` and the other ``P - 1`` patches are the
    negatives. The loss is the cross-entropy of choosing the positive:
    ``-log(exp(s_ii / t) / sum_j exp(s_ij / t))``. Gradients flow into both arguments; CUT passes the
    key detached.

    Args:
        query: Patches of the output image ``G(x)``, typically unit vectors.
        key: Patches of the input image ``x`` at the same locations, same shape.
        temperature: Softmax temperature (0.07 in CUT).
        reduction: ``"mean"`` over images and patches (default), ``"sum"``, or ``"none"``.

    Returns:
        A scalar >= 0, or the per-patch loss ``(B, P)`` with ``"none"``. For unit vectors with every
        positive equal to its query and orthogonal negatives it is ``log(1 + (P - 1) exp(-1 / t))``.

    Raises:
        ValueError: When the shapes differ or are not ``(B, P, D)``.

    Shape:
        - query, key: :math:`(B, P, D)`.
        - output: :math:`()`, or :math:`(B, P)` with ``reduction="none"``.

    Example:
        >>> q = torch.eye(3).unsqueeze(0)  # 3 orthogonal unit patches, each its own positive
        >>> patch_nce_loss(q, q, temperature=1.0)  # log(1 + 2 / e)
        tensor(0.5514)
    """
    check_same_shape(query, key, "patch_nce_loss")
    if query.dim() != 3:
        raise ValueError(f"patch_nce_loss expects (B, P, D) patches, got shape {tuple(query.shape)}")
    b, p, _ = query.shape
    logits = torch.bmm(query, key.transpose(1, 2)) / temperature  # (B, P, P): [i, j] = q_i . k_j / t
    targets = torch.arange(p, device=query.device).repeat(b)  # the positive of row i is column i
    loss = F.cross_entropy(logits.flatten(0, 1), targets, reduction="none")  # (B * P,)
    return reduce_loss(loss.view(b, p), reduction)


class PatchNCELoss(nn.Module):
    """Module form of :func:`patch_nce_loss`."""

    def __init__(self, *, temperature: float = 0.07, reduction: Reduction = "mean") -> None:
        super().__init__()
        self.temperature = temperature
        self.reduction: Reduction = reduction

    def forward(self, query: Tensor, key: Tensor) -> Tensor:
        return patch_nce_loss(query, key, temperature=self.temperature, reduction=self.reduction)
