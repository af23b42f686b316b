"""The one resize: antialiased like the reference's PIL bicubic, and the size rules built on it."""

from __future__ import annotations

import cv2
import numpy as np

from i2i.data.resize import make_multiple, resize, scale_width


def test_scale_width_keeps_min_height_and_make_multiple() -> None:
    assert scale_width(np.zeros((10, 100, 3), np.uint8), 64, 32).shape == (32, 64, 3)
    assert make_multiple(np.zeros((30, 45, 1), np.uint8), 4).shape == (32, 44, 1)
    assert make_multiple(np.zeros((1, 2, 3), np.uint8), 4).shape == (4, 4, 3)


def _stripes(size: int, period: float) -> np.ndarray:
    """A 2-D cosine pattern of ``period`` px in x and y, uint8 ``(size, size, 1)``."""
    wave = np.cos(2 * np.pi * np.arange(size) / period)
    return np.round(127.5 + 63.75 * (wave[None, :] + wave[:, None])).astype(np.uint8)[:, :, None]


def _alternating_energy(image: np.ndarray) -> float:
    """Variance of the image away from a 2 px border (the pattern's energy; 0 for flat grey)."""
    return float(image[2:-2, 2:-2].astype(np.float64).var())


def test_resize_shrinking_by_4_keeps_no_aliasing_energy() -> None:
    # Period 2.5 px is far above the Nyquist limit after shrinking by 4 (period 8 px): an antialiased
    # filter removes it; a point-sampling filter folds it back as a coarse false pattern.
    stripes = _stripes(128, 2.5)
    small = resize(stripes, 32, 32)
    assert small.shape == (32, 32, 1)
    assert _alternating_energy(small) < 0.01 * _alternating_energy(stripes)
    aliased = cv2.resize(stripes[:, :, 0], (32, 32), interpolation=cv2.INTER_CUBIC)  # what training used
    assert _alternating_energy(aliased) > 0.2 * _alternating_energy(stripes)  # about 27%
    # a pattern the small size *can* hold (period 32 px -> 8 px) keeps most of its energy
    coarse = _stripes(128, 32)
    assert _alternating_energy(resize(coarse, 32, 32)) > 0.8 * _alternating_energy(coarse)


def test_resize_is_the_reference_filter_pil_bicubic() -> None:
    from PIL import Image

    rgb = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    for height, width in ((16, 20), (64, 90)):  # shrink and enlarge
        expected = np.asarray(Image.fromarray(rgb).resize((width, height), Image.Resampling.BICUBIC))
        np.testing.assert_array_equal(resize(rgb, height, width), expected)
    assert resize(rgb, 37, 53) is rgb  # same size: untouched
    assert resize(rgb[:, :, 0], 8, 8).shape == (8, 8, 1)
