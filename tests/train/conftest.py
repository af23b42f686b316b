"""Tiny recipes for trainer tests: 32 px synthetic data, 4-channel networks, 4 steps per epoch."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from i2i.config import Recipe, load_recipe

TINY = [
    "data.synthetic_size=32",
    "data.load_size=32",
    "data.crop_size=32",
    "data.synthetic_count=8",
    "model.generator.base_channels=4",
    "model.discriminator.base_channels=4",
    "model.discriminator.num_layers=2",
    "train.batch_size=2",
    "train.epochs=1",
    "train.epochs_decay=1",
    "train.log_every=1",
    "train.sample_every=3",
    "train.checkpoint_every=2",
    "train.num_samples=2",
    "train.device=cpu",
]


@pytest.fixture
def tiny_recipe() -> Callable[..., Recipe]:
    """``tiny_recipe("demo_pix2pix", "train.max_steps=3")``: a bundled recipe shrunk for tests."""

    def make(name: str, *overrides: str) -> Recipe:
        return load_recipe(name, [*TINY, *overrides])

    return make


@pytest.fixture
def tiny_overrides() -> list[str]:
    """The ``--set`` items that shrink a bundled recipe for tests."""
    return list(TINY)
