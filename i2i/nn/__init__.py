"""Networks in pure PyTorch: generators, discriminators, norms, init, feature taps, patch projection heads;
nothing else from i2i but the registry.

``create_generator(name, **kwargs)`` and ``create_discriminator(name, **kwargs)`` build the networks
registered in :data:`GENERATORS` and :data:`DISCRIMINATORS`.
"""

from __future__ import annotations

from i2i.nn import discriminators, generators
from i2i.nn.discriminators import (
    DCGANDiscriminator,
    MultiscaleDiscriminator,
    PatchGANDiscriminator,
    PixelDiscriminator,
    StarGANDiscriminator,
)
from i2i.nn.generators import DCGANGenerator, ResnetGenerator, StarGANGenerator, UnetGenerator
from i2i.nn.init import init_weights
from i2i.nn.norms import NORMS, get_norm
from i2i.nn.projection import ChannelMaps, PatchProjection
from i2i.nn.registries import DISCRIMINATORS, GENERATORS, create_discriminator, create_generator
from i2i.nn.taps import FeatureTaps, feature_taps

__all__ = [
    "DISCRIMINATORS",
    "GENERATORS",
    "NORMS",
    "ChannelMaps",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "FeatureTaps",
    "MultiscaleDiscriminator",
    "PatchGANDiscriminator",
    "PatchProjection",
    "PixelDiscriminator",
    "ResnetGenerator",
    "StarGANDiscriminator",
    "StarGANGenerator",
    "UnetGenerator",
    "create_discriminator",
    "create_generator",
    "discriminators",
    "feature_taps",
    "generators",
    "get_norm",
    "init_weights",
]
