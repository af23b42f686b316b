"""Training methods: each owns its networks, optimizers and one training step (pix2pix, CycleGAN, CUT,
the class-conditional cgan, the multi-domain StarGAN, pix2pix-based colorization and distillation of a trained generator).

``create_method(recipe)`` builds the method a recipe names; :data:`METHODS` lists the names.
"""

from __future__ import annotations

from i2i.methods.base import (
    METHODS,
    Batch,
    Method,
    MethodSection,
    StepOutput,
    create_method,
    frozen,
    method_class,
)
from i2i.methods.cgan import CGAN
from i2i.methods.colorization import Colorization
from i2i.methods.cut import CUT
from i2i.methods.cyclegan import CycleGAN
from i2i.methods.distill import Distill
from i2i.methods.image_pool import ImagePool
from i2i.methods.pix2pix import Pix2Pix
from i2i.methods.stargan import StarGAN

__all__ = [
    "CGAN",
    "CUT",
    "METHODS",
    "Batch",
    "Colorization",
    "CycleGAN",
    "Distill",
    "ImagePool",
    "Method",
    "MethodSection",
    "Pix2Pix",
    "StarGAN",
    "StepOutput",
    "create_method",
    "frozen",
    "method_class",
]
