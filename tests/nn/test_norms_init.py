"""Norm factories and weight initialisation."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from i2i.nn.init import init_weights
from i2i.nn.norms import NORMS, conv_bias, get_norm


def test_norm_factories_match_the_reference() -> None:
    batch, instance, none = NORMS["batch"](5), NORMS["instance"](5), NORMS["none"](5)
    assert isinstance(batch, nn.BatchNorm2d) and batch.affine and batch.track_running_stats
    assert isinstance(instance, nn.InstanceNorm2d)
    assert not instance.affine and not instance.track_running_stats
    assert isinstance(none, nn.Identity)
    assert [conv_bias(NORMS[n]) for n in ("batch", "instance", "none")] == [False, True, True]


def test_get_norm_passes_callables_through_and_rejects_unknown_names() -> None:
    def factory(c: int) -> nn.Module:
        return nn.GroupNorm(1, c)

    assert get_norm(factory) is factory
    with pytest.raises(ValueError, match="unknown norm 'group'"):
        get_norm("group")


def net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(64, 128, 3), nn.BatchNorm2d(128), nn.ConvTranspose2d(128, 32, 4), nn.Linear(8, 4)
    )


def test_normal_init() -> None:
    torch.manual_seed(0)
    m = net()
    init_weights(m, "normal", 0.05)
    w = m[0].weight.detach()
    # 73,728 samples: the std estimate is within 1 % of 0.05 with overwhelming probability.
    assert abs(w.std().item() - 0.05) < 5e-4 and abs(w.mean().item()) < 5e-4
    assert all(float(mod.bias.detach().abs().max()) == 0 for mod in (m[0], m[1], m[2], m[3]))
    bn = m[1].weight.detach()
    assert abs(bn.mean().item() - 1) < 0.02 and 0.03 < bn.std().item() < 0.07  # N(1, 0.05), 128 samples


def test_kaiming_init_ignores_gain_and_uses_fan_in() -> None:
    torch.manual_seed(0)
    m = net()
    init_weights(m, "kaiming", 123.0)
    expected = math.sqrt(2 / (64 * 3 * 3))  # ReLU gain / sqrt(fan_in)
    assert abs(m[0].weight.detach().std().item() / expected - 1) < 0.02


def test_xavier_init_scales_with_gain() -> None:
    torch.manual_seed(0)
    m = net()
    init_weights(m, "xavier", 2.0)
    expected = 2.0 * math.sqrt(2 / (64 * 9 + 128 * 9))
    assert abs(m[0].weight.detach().std().item() / expected - 1) < 0.02


def test_orthogonal_init_gives_orthogonal_rows_times_gain() -> None:
    m = nn.Conv2d(16, 8, 3)
    init_weights(m, "orthogonal", 0.5)
    w = m.weight.detach().flatten(1)  # (8, 144): 8 orthogonal rows of norm 0.5
    torch.testing.assert_close(w @ w.T, 0.25 * torch.eye(8), atol=1e-5, rtol=0)


def test_unknown_init_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown init 'uniform'"):
        init_weights(net(), "uniform")


def test_networks_pass_init_options_through() -> None:
    from i2i.nn import create_discriminator, create_generator

    g = create_generator("resnet_6blocks", base_channels=4, init="orthogonal", init_gain=1.0)
    w = g.head[1].weight.detach().flatten(1)  # (3, 196)
    torch.testing.assert_close(w @ w.T, torch.eye(3), atol=1e-5, rtol=0)
    d = create_discriminator("patchgan", base_channels=4, init="normal", init_gain=0.0)
    assert all(
        float(p.detach().abs().max()) == 0
        for n, p in d.named_parameters()
        if n.endswith("weight") and p.dim() == 4
    )
