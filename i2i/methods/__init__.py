"""Training methods: each owns its networks, optimizers and one training step (pix2pix, CycleGAN).

``create_method(recipe)`` builds the method a recipe names; :data:`METHODS` lists the names.
"""

from __future__ import annotations

from i2i.methods.base import METHODS, Batch, Method, StepOutput, create_method, frozen
from i2i.methods.cyclegan import CycleGAN
from i2i.methods.image_pool import ImagePool
from i2i.methods.pix2pix import Pix2Pix

__all__ = [
    "METHODS",
    "Batch",
    "CycleGAN",
    "ImagePool",
    "Method",
    "Pix2Pix",
    "StepOutput",
    "create_method",
    "frozen",
]
