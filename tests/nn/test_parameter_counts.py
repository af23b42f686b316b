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


# Distillation students (not in the reference): narrower ResNets and the mobile generator, whose
# residual blocks are depthwise-separable (arithmetic in the test below).
STUDENT_COUNTS = [
    ("mobile_resnet_9blocks", {"norm": "instance"}, 1_987_075),
    ("mobile_resnet_9blocks", {"norm": "instance", "base_channels": 32}, 514_307),
    ("mobile_resnet_9blocks", {"norm": "instance", "base_channels": 16}, 137_347),
    ("resnet_9blocks", {"norm": "instance", "base_channels": 16}, 715_651),
    ("resnet_6blocks", {"norm": "instance", "base_channels": 16}, 494_083),
]


@pytest.mark.parametrize(("name", "kwargs", "expected"), STUDENT_COUNTS)
def test_student_parameter_counts(name: str, kwargs: dict[str, Any], expected: int) -> None:
    with torch.device("meta"):
        assert count(create_generator(name, **kwargs)) == expected


def test_mobile_generator_differs_from_resnet_9blocks_only_in_its_blocks() -> None:
    c = 4 * 64  # the residual blocks' width at base 64
    full_block = 2 * (9 * c * c + c)  # two 3x3 convolutions with bias
    separable_block = 2 * ((9 * c + c) + (c * c + c))  # two (depthwise 3x3 + 1x1), each with bias
    assert 11_378_179 - 9 * full_block + 9 * separable_block == 1_987_075


def test_multiscale_is_num_scales_patchgans() -> None:
    with torch.device("meta"):
        d = create_discriminator("multiscale", num_scales=3, norm="instance")
    assert count(d) == 3 * 2_764_737
