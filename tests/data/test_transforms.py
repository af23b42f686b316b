"""Preprocessing: shared random geometry for A and B, eval determinism, output sizes and range."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from i2i.data.io import to_uint8
from i2i.data.resize import resize
from i2i.data.transforms import PairedTransform


def _coordinates(height: int, width: int) -> np.ndarray:
    """Pixel (y, x) holds (x, y, 0): a crop's top-left pixel tells its offset."""
    yy, xx = np.mgrid[0:height, 0:width]
    return np.stack([xx, yy, np.zeros_like(xx)], axis=2).astype(np.uint8)


@pytest.mark.parametrize("seed", range(6))
def test_same_random_crop_and_flip_for_a_and_b_even_with_different_channels(seed: int) -> None:
    image = np.random.default_rng(seed).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    t = PairedTransform(preprocess="resize_and_crop", load_size=36, crop_size=32, flip=True, train=True)
    a, b = t(image, image.copy(), seed=seed)
    assert b is not None and torch.equal(a, b)
    a, gray = t(image, image[:, :, :1].copy(), seed=seed)
    assert gray is not None and gray.shape == (1, 32, 32) and torch.equal(gray[0], a[0])


def test_crop_offset_and_flip_are_exact_and_vary_with_seed() -> None:
    image = _coordinates(48, 64)
    offsets = set()
    for seed in range(8):
        out, _ = PairedTransform(preprocess="crop", load_size=64, crop_size=32, flip=False, train=True)(
            image, seed=seed
        )
        crop = to_uint8(out)
        x0, y0 = int(crop[0, 0, 0]), int(crop[0, 0, 1])
        assert np.array_equal(crop, image[y0 : y0 + 32, x0 : x0 + 32])
        offsets.add((x0, y0))
    assert len(offsets) > 4  # 33 x 17 possible offsets; 8 seeds landing on <= 4 would mean no randomness
    flipped = [
        to_uint8(
            PairedTransform(preprocess="crop", load_size=64, crop_size=32, flip=True, train=True)(
                image, seed=s
            )[0]
        )
        for s in range(8)
    ]
    mirrored = [c for c in flipped if c[0, 0, 0] > c[0, -1, 0]]  # x decreasing left to right
    assert 0 < len(mirrored) < 8
    for crop in mirrored:
        x_right, y0 = int(crop[0, -1, 0]), int(crop[0, 0, 1])
        assert np.array_equal(crop[:, ::-1], image[y0 : y0 + 32, x_right : x_right + 32])


def test_same_seed_same_output() -> None:
    image = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    t = PairedTransform(preprocess="resize_and_crop", load_size=36, crop_size=32, flip=True, train=True)
    assert torch.equal(t(image, seed=3)[0], t(image, seed=3)[0])


def test_eval_is_deterministic_center_crop_without_flip() -> None:
    image = _coordinates(48, 64)
    t = PairedTransform(preprocess="crop", load_size=64, crop_size=32, flip=True, train=False)
    outs = [to_uint8(t(image, seed=s)[0]) for s in range(4)]
    assert all(np.array_equal(o, outs[0]) for o in outs)
    assert np.array_equal(outs[0], image[8:40, 16:48])  # (48 - 32) / 2 = 8, (64 - 32) / 2 = 16


@pytest.mark.parametrize(
    ("preprocess", "train", "shape"),
    [
        ("resize_and_crop", True, (32, 32)),
        ("resize_and_crop", False, (32, 32)),  # eval: resize straight to crop_size
        ("crop", True, (32, 32)),
        ("scale_width", True, (32, 48)),  # width 48; height max(48 * 30 / 60, crop 32) = 32
        ("scale_width_and_crop", True, (32, 32)),
        ("scale_width_and_crop", False, (32, 32)),
        ("none", True, (32, 60)),  # 30 -> nearest multiple of 4 is 32 (round half to even: 7.5 -> 8)
    ],
)
def test_output_sizes_and_range(preprocess: str, train: bool, shape: tuple[int, int]) -> None:
    image = np.random.default_rng(0).integers(0, 256, (30, 60, 3), dtype=np.uint8)
    t = PairedTransform(preprocess=preprocess, load_size=48, crop_size=32, flip=True, train=train)  # type: ignore[arg-type]
    a, b = t(image, seed=0)
    assert b is None and a.shape == (3, *shape) and a.dtype == torch.float32
    assert a.min() >= -1 and a.max() <= 1


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="preprocess"):
        PairedTransform(preprocess="zoom")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="load_size"):
        PairedTransform(preprocess="resize_and_crop", load_size=16, crop_size=32)
    t = PairedTransform(preprocess="none")
    with pytest.raises(ValueError, match="same size"):
        t(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 12, 3), np.uint8))


@pytest.mark.parametrize("preprocess", ["resize_and_crop", "scale_width_and_crop"])
def test_train_and_eval_preprocessing_give_the_same_pixels(preprocess: str) -> None:
    """Train mode (load = crop, no flip: nothing random left) and eval mode shrink an image identically."""
    image = np.random.default_rng(1).integers(0, 256, (96, 96, 3), dtype=np.uint8)
    train = PairedTransform(preprocess=preprocess, load_size=32, crop_size=32, flip=False, train=True)
    test = PairedTransform(preprocess=preprocess, load_size=48, crop_size=32, flip=False, train=False)
    a_train, _ = train(image, seed=3)
    a_test, _ = test(image)
    assert torch.equal(a_train, a_test)
    np.testing.assert_array_equal(to_uint8(a_test), resize(image, 32, 32))
