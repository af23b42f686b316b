"""Generators: ResNet (``resnet_6blocks``, ``resnet_9blocks``, the depthwise-separable
``mobile_resnet_9blocks``), U-Net (``unet_128``, ``unet_256``), the conditional ``dcgan`` (noise + label)
and ``stargan`` (image + target domain), and ``colorize`` (RGB -> RGB around an ``L -> ab`` network)."""

from __future__ import annotations

from i2i.nn.generators.colorize import ColorizationGenerator, colorize
from i2i.nn.generators.dcgan import DCGANGenerator, dcgan
from i2i.nn.generators.resnet import ResnetGenerator, mobile_resnet_9blocks, resnet_6blocks, resnet_9blocks
from i2i.nn.generators.stargan import StarGANGenerator, stargan
from i2i.nn.generators.unet import UnetGenerator, unet_128, unet_256

__all__ = [
    "ColorizationGenerator",
    "DCGANGenerator",
    "ResnetGenerator",
    "StarGANGenerator",
    "UnetGenerator",
    "colorize",
    "dcgan",
    "mobile_resnet_9blocks",
    "resnet_6blocks",
    "resnet_9blocks",
    "stargan",
    "unet_128",
    "unet_256",
]
