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

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_PUBLIC = {
    "create_generator": "i2i.nn",
    "create_discriminator": "i2i.nn",
    "load_recipe": "i2i.config",
    "Translator": "i2i.infer",
    "load_generator": "i2i.weights",
    "read_image": "i2i.data",
    "write_image": "i2i.data",
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


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'i2i' has no attribute {name!r}")
