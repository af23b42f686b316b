"""Feature taps (named layers in, features out) and the ResNet generator's anti-aliased resampling."""

from __future__ import annotations

import pytest
import torch

from i2i.nn import create_generator, feature_taps
from i2i.nn.blocks import BlurDownsample, BlurUpsample
from i2i.nn.taps import generators_with_taps


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("antialias", [False, True])
def test_resnet_taps_are_the_features_its_forward_computes(antialias: bool) -> None:
    torch.manual_seed(0)
    g = create_generator("resnet_6blocks", base_channels=4, antialias=antialias).eval()
    x = torch.rand(2, 3, 16, 20) * 2 - 1
    names = feature_taps(g, method="test", name="resnet_6blocks").tap_names
    assert names == ("input", "stem", "down1", "down2", *(f"block{k}" for k in range(1, 7)))
    features = g.forward_taps(x, names)
    assert [f.shape[1] for f in features] == g.tap_channels(names) == [3, 4, 8, 16, *[16] * 6]
    found = dict(zip(names, features, strict=True))
    assert torch.equal(found["input"], x)
    assert torch.equal(found["stem"], g.stem(x))
    assert torch.equal(found["down1"], g.down[0](g.stem(x)))  # the first downsampling convolution
    assert found["block1"].shape[-2:] == (4, 5)  # after both downsamplings
    # the last block's feature, decoded, is the generator's output: the taps are its own features
    assert torch.equal(g.head(g.up(found["block6"])), g(x))
    # any order, any subset; the network runs only as far as the last named layer
    assert torch.equal(g.forward_taps(x, ["block2", "stem"])[1], found["stem"])
    # one pass for the output and the features (distillation): the same numbers as the two calls
    output, (block6, stem) = g.forward_with_taps(x, ["block6", "stem"])
    assert (
        torch.equal(output, g(x))
        and torch.equal(block6, found["block6"])
        and torch.equal(stem, found["stem"])
    )


def test_a_norm_free_generator_taps_the_convolution_not_its_relu() -> None:
    torch.manual_seed(0)
    g = create_generator("resnet_6blocks", base_channels=4, norm="none")
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    down1, _ = g.forward_taps(x, ["down1", "down2"])  # the ReLU after down1 runs
    assert torch.equal(down1, g.down[0](g.stem(x))) and down1.min() < 0  # before the in-place ReLU


def test_tap_errors_name_the_generator_and_method() -> None:
    unet = create_generator("unet_128", base_channels=2)
    with pytest.raises(
        ValueError, match=r"^cut: generator 'unet_128' has no feature taps \(generators with taps: "
    ):
        feature_taps(unet, method="cut", name="unet_128")
    assert generators_with_taps() == ["mobile_resnet_9blocks", "resnet_6blocks", "resnet_9blocks"]
    resnet = create_generator("resnet_6blocks", base_channels=2)
    with pytest.raises(ValueError, match=r"generator 'resnet_6blocks' has no layer 'block7'"):
        resnet.forward_taps(torch.zeros(1, 3, 8, 8), ["block7"])


def test_taps_look_through_a_ddp_wrapper() -> None:
    g = create_generator("resnet_6blocks", base_channels=2)

    class Wrapper(torch.nn.Module):  # DistributedDataParallel keeps its network as .module
        def __init__(self) -> None:
            super().__init__()
            self.module = g

    assert feature_taps(Wrapper(), method="cut", name="resnet_6blocks") is g


@pytest.mark.parametrize("name", ["mobile_resnet_9blocks", "resnet_6blocks", "resnet_9blocks"])
def test_antialias_keeps_parameter_count_and_shapes(name: str) -> None:
    with torch.device("meta"):
        plain, smooth = create_generator(name), create_generator(name, antialias=True)
    assert _count(plain) == _count(smooth)  # the same convolutions, stride 1 instead of 2
    g = create_generator(name, base_channels=2, antialias=True)
    assert g(torch.zeros(1, 3, 12, 16)).shape == (1, 3, 12, 16)


def test_blur_downsampling_removes_the_highest_frequency() -> None:
    # A +-1 checkerboard is pure Nyquist frequency: a stride-2 subsampling aliases it to a constant 1,
    # the [1, 2, 1] blur cancels it exactly (1 - 2 + 1 = 0 along each axis), borders included.
    yy, xx = torch.meshgrid(torch.arange(8), torch.arange(8), indexing="ij")
    checker = (1 - 2 * ((yy + xx) % 2)).float().expand(1, 2, 8, 8)
    assert torch.equal(checker[..., ::2, ::2], torch.ones(1, 2, 4, 4))
    assert BlurDownsample(2)(checker).abs().max() < 1e-6
    ramp = torch.arange(8.0).expand(1, 1, 8, 8)  # a linear ramp stays linear (interior samples)
    assert torch.allclose(BlurDownsample(1)(ramp)[0, 0, 0, 1:], torch.tensor([2.0, 4.0, 6.0]))
    up = BlurUpsample()(torch.tensor([[[[0.0, 4.0, 8.0]]]]))
    assert up[0, 0, 0].tolist() == [0.0, 1.0, 3.0, 5.0, 7.0, 8.0]
