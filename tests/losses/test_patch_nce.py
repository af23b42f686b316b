"""PatchNCE (CUT's contrastive loss) against values computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from i2i.losses import PatchNCELoss, patch_nce_loss


@pytest.mark.parametrize("temperature", [0.07, 0.5, 1.0])
def test_positives_equal_to_queries_with_orthogonal_negatives(temperature: float) -> None:
    # Each query is its own positive (similarity 1) and orthogonal to the P - 1 negatives (similarity
    # 0): every row's cross-entropy is -log(e^(1/t) / (e^(1/t) + (P - 1))) = log(1 + (P - 1) e^(-1/t)).
    patches = torch.eye(4, dtype=torch.float64).expand(2, 4, 4)  # (B=2, P=4, D=4); float64: at t = 0.07
    # the loss is ~2e-6, below float32 resolution of 1 + x
    expected = math.log(1 + 3 * math.exp(-1 / temperature))
    loss = patch_nce_loss(patches, patches, temperature=temperature)
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_a_hand_computed_value_with_unequal_keys() -> None:
    query = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])  # (1, 2, 2)
    key = torch.tensor([[[1.0, 0.0], [0.6, 0.8]]])
    # row 0: logits (q0.k0, q0.k1) = (1, 0.6), positive 0 -> log(1 + e^(0.6 - 1))
    # row 1: logits (q1.k0, q1.k1) = (0, 0.8), positive 1 -> log(1 + e^(0 - 0.8))
    rows = [math.log(1 + math.exp(-0.4)), math.log(1 + math.exp(-0.8))]
    per_patch = patch_nce_loss(query, key, temperature=1.0, reduction="none")
    assert per_patch.shape == (1, 2)
    assert per_patch[0].tolist() == pytest.approx(rows, rel=1e-6)
    assert patch_nce_loss(query, key, temperature=1.0).item() == pytest.approx(sum(rows) / 2, rel=1e-6)
    # temperature divides every logit: t = 0.5 doubles the gaps
    halved = [math.log(1 + math.exp(-0.8)), math.log(1 + math.exp(-1.6))]
    assert patch_nce_loss(query, key, temperature=0.5, reduction="sum").item() == pytest.approx(sum(halved))


def test_negatives_come_from_the_same_image_only() -> None:
    # Image 1 holds exact copies of image 0's keys: were they negatives of image 0 (the paper's code
    # option nce_includes_all_negatives_from_minibatch, off by default), image 0's loss would change.
    g = torch.Generator().manual_seed(0)
    q = torch.nn.functional.normalize(torch.randn(1, 5, 8, generator=g), dim=-1)
    k = torch.nn.functional.normalize(torch.randn(1, 5, 8, generator=g), dim=-1)
    alone = patch_nce_loss(q, k, reduction="none")
    together = patch_nce_loss(torch.cat([q, q]), torch.cat([k, k]), reduction="none")
    assert torch.allclose(together, alone.expand(2, 5), atol=1e-6)


def test_the_module_equals_the_function_and_gradients_check() -> None:
    g = torch.Generator().manual_seed(1)
    q = torch.randn(2, 3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    k = torch.randn(2, 3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    assert PatchNCELoss(temperature=0.3)(q, k).item() == patch_nce_loss(q, k, temperature=0.3).item()
    torch.autograd.gradcheck(lambda a, b: patch_nce_loss(a, b, temperature=0.3), (q, k))


def test_shape_errors_name_the_loss() -> None:
    with pytest.raises(ValueError, match="patch_nce_loss"):
        patch_nce_loss(torch.zeros(1, 3, 4), torch.zeros(1, 2, 4))
    with pytest.raises(ValueError, match=r"\(B, P, D\)"):
        patch_nce_loss(torch.zeros(3, 4), torch.zeros(3, 4))
