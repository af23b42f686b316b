"""Fixtures of the export tests: small generators with non-trivial outputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn

from i2i.card import ModelCard, describe_generator
from i2i.nn import create_generator


def small_generator(name: str, seed: int = 0, **overrides: Any) -> tuple[nn.Module, ModelCard]:
    """``name`` with 4 base channels, kaiming init (outputs spread over [-1, 1] rather than near 0, so a
    1e-4 parity bound means something) and random batch-norm statistics (so folding them is tested)."""
    torch.manual_seed(seed)
    kwargs: dict[str, Any] = {"base_channels": 4, "init": "kaiming", **overrides}
    generator = create_generator(name, **kwargs)
    for module in generator.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            nn.init.uniform_(module.weight, 0.5, 1.5)
            nn.init.uniform_(module.bias, -0.2, 0.2)
    card = describe_generator(
        generator, arch=name, kwargs=kwargs, method="pix2pix", crop_size=64, recipe="name: test\n"
    )
    return generator.eval(), card


SmallGenerator = Callable[..., tuple[nn.Module, ModelCard]]


@pytest.fixture(scope="session")
def make_generator() -> SmallGenerator:
    """:func:`small_generator`, as a fixture (test modules here are not an importable package)."""
    return small_generator
