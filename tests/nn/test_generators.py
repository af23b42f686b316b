"""Generators, tested through the registry: shapes, value range, size checks, options."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from i2i.nn import GENERATORS, ResnetGenerator, create_generator
from i2i.nn.generators import UnetGenerator

# Small widths keep every test fast; unet_256 needs a 256x256 input, so it gets the smallest width.
BASE = {"mobile_resnet_9blocks": 4, "resnet_6blocks": 4, "resnet_9blocks": 4, "unet_128": 2, "unet_256": 2}
MULTIPLE = {
    "mobile_resnet_9blocks": 4,
    "resnet_6blocks": 4,
    "resnet_9blocks": 4,
    "unet_128": 128,
    "unet_256": 256,
}
# Generators with inputs beside the image (noise + label, target domain): tests/nn/test_conditional_networks.py.
CONDITIONAL = ("dcgan", "stargan")
# RGB -> RGB around another generator: tests/nn/test_color.py.
WRAPPERS = ("colorize",)
IMAGE_TO_IMAGE = [name for name in GENERATORS.names() if name not in CONDITIONAL + WRAPPERS]


def test_registry_holds_the_contract_names() -> None:
    assert GENERATORS.names() == [
        "colorize",
        "dcgan",
        "mobile_resnet_9blocks",
        "resnet_6blocks",
        "resnet_9blocks",
        "stargan",
        "unet_128",
        "unet_256",
    ]


@pytest.mark.parametrize("name", IMAGE_TO_IMAGE)
def test_generator_keeps_size_and_maps_channels_into_range(name: str) -> None:
    # init_gain=1 drives the pre-tanh activations far beyond [-1, 1], so the range check tests the tanh.
    g = create_generator(name, in_channels=1, out_channels=3, base_channels=BASE[name], init_gain=1.0)
    assert g.size_multiple == MULTIPLE[name]
    h = max(g.size_multiple, 8)  # resnet: reflection padding needs a bottleneck of at least 2x2
    x = torch.rand(1, 1, h, 2 * h) * 2 - 1  # non-square: fully convolutional
    with torch.no_grad():
        y = g(x)
    assert y.shape == (1, 3, h, 2 * h)
    assert y.abs().max() <= 1
    assert y.abs().max() > 0.9  # saturated: the output really went through tanh


@pytest.mark.parametrize("name", IMAGE_TO_IMAGE)
def test_generator_rejects_sizes_that_are_not_multiples(name: str) -> None:
    g = create_generator(name, base_channels=BASE[name])
    m = g.size_multiple
    with pytest.raises(ValueError, match=rf"{name}.*multiples of {m}, got {m}x{m + 2}"):
        g(torch.zeros(1, 3, m, m + 2))


def test_generator_rejects_unbatched_input() -> None:
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        create_generator("resnet_6blocks", base_channels=4)(torch.zeros(3, 8, 8))


def test_resnet_accepts_any_multiple_of_four() -> None:
    g = ResnetGenerator(base_channels=4, num_blocks=1)
    with torch.no_grad():
        assert g(torch.zeros(2, 3, 12, 20)).shape == (2, 3, 12, 20)


def convs(module: nn.Module) -> list[nn.Module]:
    return [m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]


@pytest.mark.parametrize(
    ("norm", "norm_type", "biased_convs"),
    [
        # batch norm has its own shift: only the last conv (no norm after it) keeps a bias (reference rule)
        ("batch", nn.BatchNorm2d, 1),
        # stem 1, down 2, two blocks 2 * 2, up 2, head 1
        ("instance", nn.InstanceNorm2d, 1 + 2 + 2 * 2 + 2 + 1),
        ("none", None, 1 + 2 + 2 * 2 + 2 + 1),
    ],
)
def test_resnet_norm_option_sets_layers_and_biases(
    norm: str, norm_type: type | None, biased_convs: int
) -> None:
    g = ResnetGenerator(base_channels=4, num_blocks=2, norm=norm)
    norms = [m for m in g.modules() if isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d))]
    assert len(norms) == (0 if norm_type is None else 1 + 2 + 2 * 2 + 2)
    assert all(type(m) is norm_type for m in norms)
    assert sum(c.bias is not None for c in convs(g)) == biased_convs


def test_norm_may_be_a_callable() -> None:
    g = ResnetGenerator(base_channels=4, num_blocks=1, norm=lambda c: nn.GroupNorm(2, c))
    assert sum(isinstance(m, nn.GroupNorm) for m in g.modules()) == 1 + 2 + 2 + 2
    assert sum(c.bias is not None for c in convs(g)) == 1  # GroupNorm has a shift, like batch norm


def test_unknown_norm_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"unknown norm 'layer'.*batch, instance, none"):
        create_generator("unet_128", norm="layer")


@pytest.mark.parametrize(
    ("padding", "pad_type", "conv_padding"),
    [("reflect", nn.ReflectionPad2d, 0), ("replicate", nn.ReplicationPad2d, 0), ("zero", None, 1)],
)
def test_resnet_padding_option(padding: str, pad_type: type | None, conv_padding: int) -> None:
    g = ResnetGenerator(base_channels=4, num_blocks=2, padding=padding)
    block_convs = convs(g.blocks)
    assert [c.padding for c in block_convs] == [(conv_padding, conv_padding)] * 4
    pads = [m for m in g.blocks.modules() if isinstance(m, (nn.ReflectionPad2d, nn.ReplicationPad2d))]
    assert len(pads) == (0 if pad_type is None else 4) and all(type(p) is pad_type for p in pads)
    with torch.no_grad():
        assert g(torch.zeros(1, 3, 8, 8)).shape == (1, 3, 8, 8)


def test_unknown_padding_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown padding 'circular'"):
        ResnetGenerator(base_channels=4, num_blocks=1, padding="circular")


@pytest.mark.parametrize(("name", "num_dropout"), [("unet_128", 2), ("unet_256", 3)])
def test_unet_dropout_sits_in_the_inner_decoder_levels(name: str, num_dropout: int) -> None:
    # pix2pix: dropout in the num_downs - 5 ngf*8 levels next to the bottleneck (7 - 5, 8 - 5).
    with torch.device("meta"):
        g = create_generator(name)
        assert [m.p for m in g.modules() if isinstance(m, nn.Dropout)] == [0.5] * num_dropout
        assert not any(isinstance(m, nn.Dropout) for m in create_generator(name, dropout=0).modules())


def test_unet_dropout_is_random_in_train_and_off_in_eval() -> None:
    x = torch.rand(1, 3, 128, 128) * 2 - 1
    g = UnetGenerator(base_channels=2, num_downs=7, dropout=0.5, init_gain=1.0)
    with torch.no_grad():
        assert not torch.equal(g.train()(x), g(x))
        assert torch.equal(g.eval()(x), g(x))
        no_dropout = UnetGenerator(base_channels=2, num_downs=7, dropout=0.0).train()
        assert torch.equal(no_dropout(x), no_dropout(x))  # batch norm alone is deterministic


def test_resnet_dropout_option_adds_one_dropout_per_block() -> None:
    g = ResnetGenerator(base_channels=4, num_blocks=3, dropout=0.5)
    assert [m.p for m in g.modules() if isinstance(m, nn.Dropout)] == [0.5] * 3
    assert not any(
        isinstance(m, nn.Dropout) for m in ResnetGenerator(base_channels=4, num_blocks=3).modules()
    )


def test_unet_needs_five_levels() -> None:
    with pytest.raises(ValueError, match="num_downs >= 5"):
        UnetGenerator(num_downs=4)


def test_unknown_generator_suggests_close_names() -> None:
    with pytest.raises(KeyError, match="resnet_9blocks"):
        create_generator("resnet_9block")
