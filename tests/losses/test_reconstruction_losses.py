"""Reconstruction and feature-matching losses: hand-computed values, gradients, module twins, errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import Tensor, nn

from i2i.losses import (
    CycleLoss,
    FeatureMatchingLoss,
    IdentityLoss,
    L1Loss,
    cycle_loss,
    feature_matching_loss,
    identity_loss,
    l1_loss,
)

PAIRWISE: list[tuple[Callable[..., Tensor], type[nn.Module]]] = [
    (l1_loss, L1Loss),
    (cycle_loss, CycleLoss),
    (identity_loss, IdentityLoss),
]


@pytest.mark.parametrize(("loss", "module"), PAIRWISE)
def test_pairwise_losses_match_hand_computed_values(
    loss: Callable[..., Tensor], module: type[nn.Module]
) -> None:
    a = torch.tensor([[0.0, 1.0], [-1.0, 0.5]])
    b = torch.tensor([[0.5, -1.0], [-1.0, 1.0]])
    # |a - b| = [[0.5, 2], [0, 0.5]]: sum 3, mean 0.75
    assert loss(a, b).item() == pytest.approx(0.75)
    assert loss(a, b, reduction="sum").item() == pytest.approx(3.0)
    assert torch.equal(loss(a, b, reduction="none"), torch.tensor([[0.5, 2.0], [0.0, 0.5]]))
    for reduction in ("mean", "sum", "none"):
        assert torch.equal(module(reduction=reduction)(a, b), loss(a, b, reduction=reduction))


@pytest.mark.parametrize(("loss", "module"), PAIRWISE)
def test_pairwise_losses_reject_mismatched_shapes_and_bad_reductions(
    loss: Callable[..., Tensor], module: type[nn.Module]
) -> None:
    with pytest.raises(ValueError, match=rf"{loss.__name__}: .*same shape.*\(2, 3\).*\(3,\)"):
        loss(torch.zeros(2, 3), torch.zeros(3))
    with pytest.raises(ValueError, match="reduction must be"):
        loss(torch.zeros(2), torch.zeros(2), reduction="max")


@pytest.mark.parametrize(("loss", "module"), PAIRWISE)
def test_pairwise_gradients_match_finite_differences(
    loss: Callable[..., Tensor], module: type[nn.Module]
) -> None:
    a = torch.randn(2, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(loss, (a, b))


def test_cycle_loss_is_l1_between_real_and_reconstruction() -> None:
    real_a = torch.rand(2, 3, 8, 8) * 2 - 1
    rec_a = torch.rand(2, 3, 8, 8) * 2 - 1
    assert torch.allclose(cycle_loss(real_a, rec_a), (rec_a - real_a).abs().mean())
    assert cycle_loss(real_a, real_a).item() == 0.0
    # images in [-1, 1] are at most 2 apart
    assert cycle_loss(torch.ones(1, 3, 2, 2), -torch.ones(1, 3, 2, 2)).item() == 2.0


def _features() -> tuple[list[list[Tensor]], list[list[Tensor]]]:
    real = [
        [
            torch.zeros(1, 2, 4, 4),
            torch.ones(1, 4, 2, 2),
            torch.zeros(1, 1, 2, 2),
        ],  # scale 0: 2 layers + logits
        [torch.zeros(1, 2, 2, 2), torch.zeros(1, 1, 1, 1)],  # scale 1: 1 layer + logits
    ]
    fake = [
        [torch.full((1, 2, 4, 4), 0.5), torch.full((1, 4, 2, 2), 3.0), torch.full((1, 1, 2, 2), 100.0)],
        [torch.full((1, 2, 2, 2), -2.0), torch.full((1, 1, 1, 1), 100.0)],
    ]
    return real, fake


def test_feature_matching_is_mean_over_scales_of_summed_layer_l1_without_logits() -> None:
    real, fake = _features()
    # scale 0: 0.5 + |3 - 1| = 2.5; scale 1: 2; logits (100) ignored; mean over scales = 2.25
    assert feature_matching_loss(real, fake).item() == pytest.approx(2.25)
    assert torch.equal(FeatureMatchingLoss()(real, fake), feature_matching_loss(real, fake))


def test_feature_matching_pulls_only_the_generator() -> None:
    real, fake = _features()
    for layer in (*real[0], *real[1], *fake[0], *fake[1]):
        layer.requires_grad_(True)
    feature_matching_loss(real, fake).backward()
    assert all(layer.grad is None for layer in (*real[0], *real[1]))
    assert fake[0][0].grad is not None and fake[1][0].grad is not None
    # d/dx of mean|x - t| over 32 elements is sign / 32, divided by 2 scales
    assert torch.allclose(fake[0][0].grad, torch.full_like(fake[0][0], 1 / 32 / 2))
    assert fake[0][2].grad is None  # the logits take no part


def test_feature_matching_gradients_match_finite_differences() -> None:
    real = [[torch.randn(1, 2, 3, 3, dtype=torch.float64), torch.randn(1, 1, 2, 2, dtype=torch.float64)]]
    fake = torch.randn(1, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda f: feature_matching_loss(real, [[f, f[:, :1, :2, :2]]]), (fake,))


def test_feature_matching_rejects_mismatched_structures() -> None:
    real, fake = _features()
    with pytest.raises(ValueError, match="number of scales"):
        feature_matching_loss(real, fake[:1])
    with pytest.raises(ValueError, match="scale 1"):
        feature_matching_loss(real, [fake[0], fake[1][1:]])
    with pytest.raises(ValueError, match=r"feature_matching_loss: scale 0 layer 0: .*same shape"):
        feature_matching_loss([[torch.zeros(1, 2), torch.zeros(1)]], [[torch.zeros(1, 3), torch.zeros(1)]])
