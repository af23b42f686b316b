"""The built-in rendered digits: deterministic, balanced, varied and MNIST-like."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from i2i.data.digits import FONTS, DigitsDataset, render_digit


def test_item_is_image_and_label_in_range() -> None:
    item = DigitsDataset(30, 16, channels=3)[27]
    image = item["a"]
    assert isinstance(image, torch.Tensor) and image.shape == (3, 16, 16)
    assert image.min() >= -1 and image.max() <= 1
    assert item["label"] == 7 and item["a_path"] == "synthetic://digits/train/27"
    assert torch.equal(image[0], image[2])  # gray repeated


def test_images_depend_only_on_seed_split_and_index() -> None:
    a, b = DigitsDataset(50, 16, seed=1), DigitsDataset(20, 16, seed=1)
    assert np.array_equal(a.image(13), b.image(13))  # not on the set's size or other items
    assert not np.array_equal(a.image(13), DigitsDataset(50, 16, seed=2).image(13))
    assert not np.array_equal(a.image(13), DigitsDataset(50, 16, seed=1, split="test").image(13))


def test_classes_are_balanced_and_styles_vary() -> None:
    data = DigitsDataset(100, 16)
    labels = [data[i]["label"] for i in range(len(data))]
    assert np.bincount(labels).tolist() == [10] * 10
    ones = np.stack([data.image(i)[:, :, 0] for i in range(1, 100, 10)]).astype(float)  # ten "1"s
    ink = (ones > 127).sum(axis=(1, 2))
    assert ink.max() > 1.5 * ink.min()  # heights, thicknesses and fonts differ
    assert len({tuple(map(tuple, (o > 127).astype(int))) for o in ones}) == 10


def test_digit_is_white_on_black_and_centred() -> None:
    rng = np.random.default_rng(0)
    for digit in range(10):
        image = render_digit(digit, 28, rng).astype(float)
        assert image[:2].max() < 60 and image[:, :2].max() < 60  # empty borders
        ys, xs = np.nonzero(image > 127)
        assert abs(ys.mean() - 13.5) < 6 and abs(xs.mean() - 13.5) < 6
    assert len(FONTS) >= 5


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="digit must be 0-9"):
        render_digit(10, 16, np.random.default_rng(0))
    with pytest.raises(ValueError, match="channels must be 1 or 3"):
        DigitsDataset(10, 16, channels=4)
    with pytest.raises(IndexError):
        DigitsDataset(10, 16)[10]
