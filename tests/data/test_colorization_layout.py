"""The colorization layout: any folder of colour photos as (Lab lightness, colour) pairs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from i2i.data import Geometry, build_dataset
from i2i.data.io import write_image

EVAL = Geometry(train=False, preprocess="none", flip=False)


def test_a_folder_of_photos_gives_lightness_and_colour_in_the_reference_scaling(tmp_path: Path) -> None:
    write_image(tmp_path / "train" / "red.png", np.full((8, 12, 3), (255, 0, 0), np.uint8))
    write_image(tmp_path / "train" / "deep" / "gray.png", np.full((8, 12, 3), 119, np.uint8))
    write_image(tmp_path / "test" / "other.png", np.zeros((8, 12, 3), np.uint8))
    data = build_dataset("colorization", tmp_path, "train", EVAL)
    assert len(data) == 2  # type: ignore[arg-type]  # ROOT/SPLIT, recursively; the test split apart
    items = {Path(str(data[i]["a_path"])).stem: data[i] for i in range(2)}
    red, gray = items["red"], items["gray"]
    assert red["a"].shape == (1, 8, 12) and red["b"].shape == (2, 8, 12)  # type: ignore[union-attr]
    # sRGB red is L 53.24, a 80.09, b 67.20: scaled L / 50 - 1 and ab / 110
    assert torch.allclose(red["a"], torch.tensor(53.24 / 50 - 1), atol=2e-3)  # type: ignore[arg-type]
    assert torch.allclose(red["b"][:, 0, 0], torch.tensor([80.09, 67.20]) / 110, atol=2e-3)  # type: ignore[index]
    # a gray photo has no colour; sRGB 119 is L 50, the middle of the scale
    assert gray["b"].abs().max() < 1e-3 and gray["a"].abs().max() < 3e-3  # type: ignore[union-attr]


def test_a_missing_split_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "train")):
        build_dataset("colorization", tmp_path, "train", EVAL)
