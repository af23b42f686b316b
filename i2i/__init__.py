"""i2i: image-to-image translation (pix2pix, CycleGAN, conditional GANs) with recipes, ONNX export
and fast batch translation.

The public API lives here; everything else is reachable through the sub-packages. Names are resolved
lazily, so ``import i2i`` (and the CLI's start-up) does not pay for importing torch until it is used.

Example:
    >>> import i2i
    >>> i2i.create_generator("resnet_6blocks", base_channels=4).size_multiple
    4
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from i2i.lazy import lazy_attributes

__version__ = "0.1.0"

_PUBLIC = {
    "i2i.nn": ("create_generator", "create_discriminator"),
    "i2i.config": ("load_recipe",),
    "i2i.infer": ("Translator",),
    "i2i.weights": ("load_generator",),
    "i2i.data": ("read_image", "write_image"),
}

__all__ = [
    "Translator",
    "__version__",
    "create_discriminator",
    "create_generator",
    "load_generator",
    "load_recipe",
    "read_image",
    "write_image",
]

if TYPE_CHECKING:
    from i2i.config import load_recipe
    from i2i.data import read_image, write_image
    from i2i.infer import Translator
    from i2i.nn import create_discriminator, create_generator
    from i2i.weights import load_generator


__getattr__ = lazy_attributes(__name__, _PUBLIC)
