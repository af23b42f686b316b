"""Discriminators: output shapes, receptive fields, spectral norm, the multi-scale pyramid."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from i2i.nn import DISCRIMINATORS, MultiscaleDiscriminator, PatchGANDiscriminator, create_discriminator


def logits_of(output: Tensor | list[Tensor]) -> list[Tensor]:
    return output if isinstance(output, list) else [output]


def test_registry_holds_the_contract_names() -> None:
    assert DISCRIMINATORS.names() == ["dcgan", "multiscale", "patchgan", "pixelgan", "stargan"]


@pytest.mark.parametrize("name", DISCRIMINATORS.names())
@pytest.mark.parametrize("spectral_norm", [False, True])
def test_discriminator_gives_one_logit_map_per_scale(name: str, spectral_norm: bool) -> None:
    # 128 px: the third scale of the multi-scale one sees 32 px, the least a 3-layer PatchGAN takes.
    d = create_discriminator(name, in_channels=6, base_channels=4, spectral_norm=spectral_norm).eval()
    x = torch.rand(2, 6, 128, 128)
    with torch.no_grad():
        outputs, features = logits_of(d(x)), d.forward_features(x)
    assert len(outputs) == (3 if name == "multiscale" else 1)
    assert all(y.shape[:2] == (2, 1) for y in outputs)
    last_features = [f[-1] for f in features] if name == "multiscale" else [features[-1]]
    for f, y in zip(last_features, outputs, strict=True):
        assert torch.equal(f, y)


@pytest.mark.parametrize(("num_layers", "size", "out"), [(3, 256, 30), (1, 64, 30), (5, 256, 6), (3, 70, 6)])
def test_patchgan_output_size(num_layers: int, size: int, out: int) -> None:
    d = PatchGANDiscriminator(base_channels=2, num_layers=num_layers)
    with torch.no_grad():
        assert d(torch.zeros(1, 3, size, size)).shape == (1, 1, out, out)


def test_pixelgan_judges_every_pixel() -> None:
    d = create_discriminator("pixelgan", base_channels=4)
    assert d(torch.zeros(2, 3, 9, 13)).shape == (2, 1, 9, 13)


@pytest.mark.parametrize(("num_layers", "field"), [(1, 16), (3, 70)])
def test_patchgan_receptive_field(num_layers: int, field: int) -> None:
    # One central logit depends on exactly `field` x `field` input pixels (no norm: instance norm would
    # couple all pixels; LeakyReLU keeps every path's gradient non-zero).
    d = PatchGANDiscriminator(base_channels=2, num_layers=num_layers, norm="none", init_gain=1.0)
    x = torch.rand(1, 3, 160, 160, requires_grad=True)
    y = d(x)
    y[0, 0, y.shape[2] // 2, y.shape[3] // 2].backward()
    assert x.grad is not None
    touched = x.grad.abs().sum(dim=(0, 1)) > 0
    assert int(touched.any(dim=1).sum()) == field
    assert int(touched.any(dim=0).sum()) == field


@pytest.mark.parametrize("name", DISCRIMINATORS.names())
def test_spectral_norm_bounds_every_conv(name: str) -> None:
    d = create_discriminator(name, base_channels=4, spectral_norm=True, init_gain=1.0)
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert convs and all(hasattr(c, "parametrizations") and "weight" in c.parametrizations for c in convs)
    d.train()
    with torch.no_grad():
        for _ in range(50):  # in train mode, each read of the weight runs one power iteration
            for c in convs:
                c.weight  # noqa: B018
    d.eval()
    for c in convs:
        sigma = torch.linalg.matrix_norm(c.weight.detach().flatten(1), ord=2)
        assert abs(sigma.item() - 1) < 1e-2, c  # normalised weight: largest singular value 1


def test_without_spectral_norm_there_is_no_parametrization() -> None:
    d = create_discriminator("patchgan", base_channels=4)
    assert not any(hasattr(m, "parametrizations") for m in d.modules())


def test_multiscale_runs_each_scale_on_a_pooled_copy() -> None:
    d = MultiscaleDiscriminator(base_channels=4, num_scales=3).eval()
    x = torch.rand(2, 3, 128, 128)
    pool = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
    with torch.no_grad():
        outputs = d(x)
        expected = [d.scales[0](x), d.scales[1](pool(x)), d.scales[2](pool(pool(x)))]
    assert [tuple(y.shape) for y in outputs] == [(2, 1, 14, 14), (2, 1, 6, 6), (2, 1, 2, 2)]
    for y, e in zip(outputs, expected, strict=True):
        torch.testing.assert_close(y, e, rtol=0, atol=0)


def test_multiscale_pooling_ignores_padding() -> None:
    # count_include_pad=False: a constant image stays constant at the border after pooling.
    d = MultiscaleDiscriminator(base_channels=4, num_scales=2)
    assert torch.equal(d.downsample(torch.ones(1, 1, 5, 5)), torch.ones(1, 1, 3, 3))


def test_multiscale_features_end_with_the_logits() -> None:
    d = create_discriminator("multiscale", base_channels=4, num_layers=2, num_scales=2).eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        features, logits = d.forward_features(x), d(x)
    # per scale: first conv, num_layers - 1 strided convs, one stride-1 conv, the logits
    assert [len(f) for f in features] == [4, 4]
    assert [f[1].shape[1] for f in features] == [8, 8]  # second layer doubles the base channels
    for f, y in zip(features, logits, strict=True):
        assert torch.equal(f[-1], y)


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("patchgan", {"num_layers": 0}, "num_layers >= 1"),
        ("multiscale", {"num_scales": 0}, "num_scales >= 1"),
    ],
)
def test_invalid_depths_are_clear_errors(name: str, kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        create_discriminator(name, **kwargs)
