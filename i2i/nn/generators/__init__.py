"""Generators: ResNet (``resnet_6blocks``, ``resnet_9blocks``) and U-Net (``unet_128``, ``unet_256``)."""

from __future__ import annotations

from i2i.nn.generators.resnet import ResnetGenerator, resnet_6blocks, resnet_9blocks
from i2i.nn.generators.unet import UnetGenerator, unet_128, unet_256

__all__ = ["ResnetGenerator", "UnetGenerator", "resnet_6blocks", "resnet_9blocks", "unet_128", "unet_256"]
