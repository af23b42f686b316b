"""Discriminators: ``patchgan`` (n-layer PatchGAN), ``pixelgan`` (1x1) and ``multiscale`` (pix2pixHD); ``dcgan``
(class-conditional) and ``stargan`` (with a domain classifier)."""

from __future__ import annotations

from i2i.nn.discriminators.dcgan import DCGANDiscriminator, dcgan
from i2i.nn.discriminators.multiscale import MultiscaleDiscriminator, multiscale
from i2i.nn.discriminators.patchgan import PatchGANDiscriminator, patchgan
from i2i.nn.discriminators.pixel import PixelDiscriminator, pixelgan
from i2i.nn.discriminators.stargan import StarGANDiscriminator, stargan

__all__ = [
    "DCGANDiscriminator",
    "MultiscaleDiscriminator",
    "PatchGANDiscriminator",
    "PixelDiscriminator",
    "StarGANDiscriminator",
    "dcgan",
    "multiscale",
    "patchgan",
    "pixelgan",
    "stargan",
]
