"""Lab conversions with the reference's scaling, and the RGB -> RGB colorization generator."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from i2i.nn import create_generator
from i2i.nn.color import lab_to_rgb_image, rgb_to_lab_image
from i2i.nn.generators import ColorizationGenerator


def _rgb(*colour: float) -> Tensor:
    """One pixel of an sRGB colour in [0, 1], as a (1, 3, 1, 1) image in [-1, 1]."""
    return torch.tensor(colour).reshape(1, 3, 1, 1) * 2 - 1


@pytest.mark.parametrize(
    ("colour", "lab"),
    [  # CIE Lab (D65) of sRGB colours: L in [0, 100], a and b; scaled L / 50 - 1 and ab / 110
        ((1.0, 1.0, 1.0), (100.0, 0.0, 0.0)),
        ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
        ((1.0, 0.0, 0.0), (53.24, 80.09, 67.20)),
        ((0.0, 0.0, 1.0), (32.30, 79.19, -107.86)),
    ],
)
def test_known_colours_have_their_scaled_lab_values(
    colour: tuple[float, float, float], lab: tuple[float, float, float]
) -> None:
    light, ab = rgb_to_lab_image(_rgb(*colour))
    assert light.item() == pytest.approx(lab[0] / 50 - 1, abs=2e-3)
    assert ab.flatten().tolist() == pytest.approx([lab[1] / 110, lab[2] / 110], abs=2e-3)


def test_lab_round_trip_returns_the_colours() -> None:
    rgb = torch.rand(2, 3, 16, 16) * 2 - 1
    back = lab_to_rgb_image(*rgb_to_lab_image(rgb))
    assert back.shape == rgb.shape and (back - rgb).abs().max().item() < 1e-4


class _Constant(nn.Module):
    """An ``L -> ab`` network that answers one colour everywhere."""

    size_multiple = 1

    def __init__(self, a: float, b: float) -> None:
        super().__init__()
        self.register_buffer("ab", torch.tensor([a, b]).reshape(1, 2, 1, 1))

    def forward(self, light: Tensor) -> Tensor:
        return self.ab.expand(light.shape[0], 2, *light.shape[2:])


def test_the_generator_keeps_the_lightness_and_takes_the_colour_from_its_network() -> None:
    photo = torch.rand(1, 3, 8, 8) * 2 - 1
    gray = ColorizationGenerator(_Constant(0.0, 0.0))(photo)  # no colour: the photo's gray version
    # equal channels to 1e-3, an eighth of an 8-bit level (kornia's D65 white point is rounded)
    assert (gray - gray.mean(dim=1, keepdim=True)).abs().max().item() < 1e-3
    assert (rgb_to_lab_image(gray)[0] - rgb_to_lab_image(photo)[0]).abs().max().item() < 1e-4
    mid_gray = torch.full((1, 3, 4, 4), -0.07)  # L about 50: room for a colour inside the gamut
    tinted = ColorizationGenerator(_Constant(0.2, -0.1))(mid_gray)
    light, ab = rgb_to_lab_image(tinted)
    assert (light - rgb_to_lab_image(mid_gray)[0]).abs().max().item() < 1e-4
    assert ab.mean(dim=(0, 2, 3)).tolist() == pytest.approx([0.2, -0.1], abs=1e-3)


def test_colorize_builds_rgb_to_rgb_around_an_l_to_ab_network() -> None:
    g = create_generator("colorize", net="resnet_6blocks", base_channels=4)
    assert isinstance(g, ColorizationGenerator) and g.size_multiple == 4
    first = next(m for m in g.net.modules() if isinstance(m, nn.Conv2d))
    last = [m for m in g.net.modules() if isinstance(m, nn.Conv2d)][-1]
    assert (first.in_channels, last.out_channels) == (1, 2)
    with torch.no_grad():
        y = g(torch.rand(2, 3, 16, 16) * 2 - 1)
    assert y.shape == (2, 3, 16, 16) and y.abs().max() <= 1
    with pytest.raises(ValueError, match="RGB"):
        create_generator("colorize", in_channels=1)
