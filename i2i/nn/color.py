"""CIE Lab with the reference colorization model's scaling: ``L / 50 - 1`` and ``ab / 110``.

pix2pix-based colorization (the reference's ``--model colorization``) learns the ``a`` and ``b``
channels of CIE Lab (D65 white, sRGB primaries) from the lightness ``L``. Both are scaled to about
[-1, 1] as the reference does: ``L`` in [0, 100] becomes ``L / 50 - 1``; ``a`` and ``b`` (about
[-110, 110] for sRGB colours) are divided by 110. The conversions are kornia's, which are plain tensor
ops that trace into an ONNX graph.
"""

from __future__ import annotations

import torch
from kornia.color import lab_to_rgb, rgb_to_lab
from torch import Tensor

__all__ = ["AB_SCALE", "L_SCALE", "lab_to_rgb_image", "rgb_to_lab_image"]

L_SCALE = 50.0
"""``L`` in [0, 100] is stored as ``L / L_SCALE - 1`` in [-1, 1]."""
AB_SCALE = 110.0
"""``a`` and ``b`` are stored divided by ``AB_SCALE``."""


def rgb_to_lab_image(image: Tensor) -> tuple[Tensor, Tensor]:
    """Scaled lightness and colour of RGB images.

    Args:
        image: ``(B, 3, H, W)`` or ``(3, H, W)`` sRGB in [-1, 1] (i2i's image range).

    Returns:
        ``(light, colour)``: ``(..., 1, H, W)`` ``L / 50 - 1`` in [-1, 1] and ``(..., 2, H, W)``
        ``(a, b) / 110`` (about [-1, 1]).

    Example:
        >>> white = torch.ones(3, 1, 1)
        >>> light, colour = rgb_to_lab_image(white)
        >>> round(light.item(), 4), colour.abs().max().item() < 1e-4
        (1.0, True)
    """
    lab = rgb_to_lab((image.clamp(-1, 1) + 1) / 2)
    return lab[..., :1, :, :] / L_SCALE - 1, lab[..., 1:, :, :] / AB_SCALE


def lab_to_rgb_image(light: Tensor, colour: Tensor) -> Tensor:
    """RGB images from scaled lightness and colour (the inverse of :func:`rgb_to_lab_image`).

    Args:
        light: ``(..., 1, H, W)`` ``L / 50 - 1`` in [-1, 1].
        colour: ``(..., 2, H, W)`` ``(a, b) / 110``.

    Returns:
        ``(..., 3, H, W)`` sRGB in [-1, 1]; colours outside the sRGB gamut are clipped.

    Example:
        >>> rgb = lab_to_rgb_image(torch.zeros(1, 1, 1), torch.zeros(2, 1, 1))  # L = 50, no colour
        >>> [round(v, 3) for v in rgb.flatten().tolist()]  # middle gray, sRGB 119 / 255
        [-0.067, -0.067, -0.067]
    """
    lab = torch.cat([(light + 1) * L_SCALE, colour * AB_SCALE], dim=-3)
    return lab_to_rgb(lab, clip=True) * 2 - 1
