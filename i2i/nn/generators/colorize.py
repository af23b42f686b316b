"""Colorization as an image-to-image generator: RGB in, RGB out, an ``L -> ab`` network inside.

The reference's colorization model is pix2pix trained from the Lab lightness ``L`` to the colour
channels ``ab`` (:mod:`i2i.nn.color`). :class:`ColorizationGenerator` wraps such a network so that what
is saved, exported and run by ``i2i translate`` takes an RGB image (a gray photo is read as RGB with
equal channels) and returns an RGB image: the conversions to and from Lab are part of the network, and
so of the exported ONNX graph. The output keeps the input's lightness exactly (up to gamut clipping).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from i2i.nn.color import lab_to_rgb_image, rgb_to_lab_image
from i2i.nn.registries import GENERATORS

__all__ = ["ColorizationGenerator", "colorize"]


class ColorizationGenerator(nn.Module):
    """RGB -> Lab, ``ab = net(L)``, Lab -> RGB.

    Args:
        net: A generator from 1 channel (``L / 50 - 1``) to 2 channels (``ab / 110``), in [-1, 1].

    Attributes:
        size_multiple: That of ``net``.
        name: ``"colorize(<net name>)"``, for error messages.

    Shape:
        - Input: :math:`(B, 3, H, W)` sRGB in [-1, 1]; only its lightness is used.
        - Output: :math:`(B, 3, H, W)` sRGB in [-1, 1] with the input's lightness.

    Example:
        >>> import torch
        >>> g = colorize(net="resnet_6blocks", base_channels=4)
        >>> g(torch.zeros(1, 3, 16, 16)).shape, g.size_multiple
        (torch.Size([1, 3, 16, 16]), 4)
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        self.size_multiple = int(getattr(net, "size_multiple", 1))
        self.name = f"colorize({getattr(net, 'name', type(net).__name__)})"

    def forward(self, x: Tensor) -> Tensor:
        light, _ = rgb_to_lab_image(x)  # (B, 1, H, W)
        return lab_to_rgb_image(light, self.net(light))  # (B, 3, H, W)


@GENERATORS.register
def colorize(
    *, net: str = "unet_256", in_channels: int = 3, out_channels: int = 3, **kwargs: Any
) -> ColorizationGenerator:
    """Colorization: RGB -> RGB around an ``L -> ab`` generator ``net`` (the reference's colorization model).

    ``net`` is built with ``kwargs`` (``base_channels``, ``norm`` ...); see :class:`ColorizationGenerator`.
    """
    if (in_channels, out_channels) != (3, 3):
        raise ValueError(f"colorize reads and writes RGB (3 channels), got {in_channels} -> {out_channels}")
    return ColorizationGenerator(GENERATORS.build(net, in_channels=1, out_channels=2, **kwargs))
