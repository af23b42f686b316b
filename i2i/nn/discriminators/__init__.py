"""Discriminators: ``patchgan`` (n-layer PatchGAN), ``pixelgan`` (1x1) and ``multiscale`` (pix2pixHD)."""

from __future__ import annotations

from i2i.nn.discriminators.multiscale import MultiscaleDiscriminator, multiscale
from i2i.nn.discriminators.patchgan import PatchGANDiscriminator, patchgan
from i2i.nn.discriminators.pixel import PixelDiscriminator, pixelgan

__all__ = [
    "MultiscaleDiscriminator",
    "PatchGANDiscriminator",
    "PixelDiscriminator",
    "multiscale",
    "patchgan",
    "pixelgan",
]
