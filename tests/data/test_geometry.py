"""Geometry: one object for how a dataset prepares its images, read from a recipe's data section."""

from __future__ import annotations

import doctest
from types import SimpleNamespace

import pytest

import i2i.data.geometry as geometry_module
from i2i.config.schema import recipe_type
from i2i.data.geometry import Geometry


def _data(**changes: object) -> SimpleNamespace:
    """A duck-typed data section (the geometry reads attributes, not the pydantic class)."""
    values: dict[str, object] = {
        "direction": "b2a", "load_size": 72, "crop_size": 64, "preprocess": "resize_and_crop", "flip": True,
        "in_channels": 1, "out_channels": 3, "augment_on": "cpu",
    }  # fmt: skip
    return SimpleNamespace(**{**values, **changes})


def test_from_data_copies_the_section_and_takes_mode_and_seed() -> None:
    geometry = Geometry.from_data(_data(), train=False, seed=5)  # type: ignore[arg-type]
    assert geometry == Geometry(
        train=False, direction="b2a", load_size=72, crop_size=64, preprocess="resize_and_crop", flip=True,
        in_channels=1, out_channels=3, size_multiple=4, seed=5,
    )  # fmt: skip


def test_from_a_validated_recipe_data_section() -> None:
    recipe = recipe_type("pix2pix").model_validate(
        {
            "method": "pix2pix",
            "name": "x",
            "data": {"layout": "synthetic_paired", "load_size": 286, "crop_size": 256, "direction": "b2a"},
        }
    )
    geometry = Geometry.from_data(recipe.data, train=True, seed=recipe.train.seed)
    assert geometry == Geometry(direction="b2a", load_size=286, crop_size=256, seed=recipe.train.seed)


def test_device_augmentation_leaves_the_random_part_out_in_training_only() -> None:
    device = _data(augment_on="device", load_size=286, crop_size=256)
    # the datasets round every image to a multiple of 4; 286 -> 288 directly avoids a second resize
    trained = Geometry.from_data(device, train=True)  # type: ignore[arg-type]
    assert (trained.load_size, trained.crop_size, trained.flip) == (288, 288, False)
    evaluated = Geometry.from_data(device, train=False)  # type: ignore[arg-type]
    assert (evaluated.load_size, evaluated.crop_size, evaluated.flip) == (286, 256, True)
    none = Geometry(preprocess="none", load_size=64, crop_size=64).without_random_part()
    assert (none.load_size, none.crop_size, none.flip) == (64, 64, False)
    with pytest.raises(ValueError, match="resize_and_crop or none"):
        Geometry(preprocess="crop").without_random_part()


def test_invalid_direction_and_channels_are_named() -> None:
    with pytest.raises(ValueError, match="direction"):
        Geometry(direction="up")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="out_channels must be 1, 3 or 4"):
        Geometry(out_channels=2)


def test_one_sided_ignores_direction_and_target_channels() -> None:
    assert Geometry(direction="b2a", in_channels=1, out_channels=3).one_sided() == Geometry(
        in_channels=1, out_channels=1
    )


def test_docstring_examples_run() -> None:
    result = doctest.testmod(geometry_module)
    assert result.attempted > 0 and result.failed == 0
