"""The one reduction helper and input checks shared by every loss in :mod:`i2i.losses`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

from torch import Tensor

Reduction = Literal["mean", "sum", "none"]
Predictions = Tensor | Sequence[Tensor]
"""One discriminator output, or a list of outputs (one per scale of a multi-scale discriminator)."""


def reduce_loss(loss: Tensor, reduction: Reduction = "mean") -> Tensor:
    """Reduce an element-wise loss: ``"mean"`` and ``"sum"`` give a scalar, ``"none"`` keeps the shape."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def as_scales(predictions: Predictions, name: str = "predictions") -> list[Tensor]:
    """A Tensor or a non-empty sequence of Tensors, as a list of per-scale Tensors."""
    if isinstance(predictions, Tensor):
        return [predictions]
    scales = list(predictions)
    if not scales:
        raise ValueError(f"{name}: expected a Tensor or a non-empty list of Tensors, got an empty list")
    for index, item in enumerate(scales):
        if not isinstance(item, Tensor):
            raise TypeError(f"{name}[{index}]: expected a Tensor, got {type(item).__name__}")
    return scales


def mean_over_scales(term: Callable[[Tensor], Tensor], predictions: Predictions) -> Tensor:
    """``term`` applied to each scale of ``predictions`` and averaged (a Tensor is one scale)."""
    scales = as_scales(predictions)
    total = term(scales[0])
    for scale in scales[1:]:
        total = total + term(scale)
    return total / len(scales)


def check_same_shape(first: Tensor, second: Tensor, what: str) -> None:
    """Raise a ValueError naming ``what`` when two Tensors differ in shape (no silent broadcasting)."""
    if first.shape != second.shape:
        raise ValueError(
            f"{what}: expected Tensors of the same shape, got {tuple(first.shape)} and {tuple(second.shape)}"
        )
