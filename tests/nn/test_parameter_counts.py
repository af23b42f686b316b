"""Parameter counts at the standard configuration equal those of the reference implementation.

The numbers are what pytorch-CycleGAN-and-pix2pix's ``define_G`` / ``define_D`` build (3 channels,
ngf = ndf = 64); equal counts plus equal layer order are what lets reference checkpoints load by structure.
Networks are built on the meta device: no memory, no init cost.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from i2i.nn import create_discriminator, create_generator

GENERATOR_COUNTS = [
    ("resnet_9blocks", {"norm": "instance"}, 11_378_179),
    ("resnet_6blocks", {"norm": "instance"}, 7_837_699),
    ("unet_256", {"norm": "batch"}, 54_413_955),
    ("unet_128", {"norm": "batch"}, 41_828_995),
]
DISCRIMINATOR_COUNTS = [
    ("patchgan", {"num_layers": 3, "in_channels": 3, "norm": "instance"}, 2_764_737),
    ("patchgan", {"num_layers": 3, "in_channels": 6, "norm": "batch"}, 2_768_705),
    ("patchgan", {"num_layers": 5, "in_channels": 3, "norm": "instance"}, 11_154_369),
    ("pixelgan", {"in_channels": 6, "norm": "batch"}, 9_024),
]


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize(("name", "kwargs", "expected"), GENERATOR_COUNTS)
def test_generator_parameter_count_matches_reference(
    name: str, kwargs: dict[str, Any], expected: int
) -> None:
    with torch.device("meta"):
        assert count(create_generator(name, **kwargs)) == expected


@pytest.mark.parametrize(("name", "kwargs", "expected"), DISCRIMINATOR_COUNTS)
def test_discriminator_parameter_count_matches_reference(
    name: str, kwargs: dict[str, Any], expected: int
) -> None:
    with torch.device("meta"):
        assert count(create_discriminator(name, **kwargs)) == expected


def test_multiscale_is_num_scales_patchgans() -> None:
    with torch.device("meta"):
        d = create_discriminator("multiscale", num_scales=3, norm="instance")
    assert count(d) == 3 * 2_764_737
