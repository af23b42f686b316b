from __future__ import annotations

import doctest

import pytest
import torch

import i2i.data.gpu_transforms as gpu_transforms
from i2i.data.gpu_transforms import BatchAugment, apply_params, draw_params


def _images(batch: int, channels: int, size: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(batch, channels, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_crop_and_flip_equal_slicing_with_the_drawn_offsets() -> None:
    images = _images(6, 3, 12)
    params = draw_params(
        6, 12, 12, crop_size=8, flip=True, color_jitter=0.0, generator=torch.Generator().manual_seed(3)
    )
    out = apply_params(images, params, crop_size=8)
    assert out.shape == (6, 3, 8, 8)
    assert 0 < int(params.flip.sum()) < 6  # both branches are exercised with this seed
    for i in range(6):
        top, left = int(params.top[i]), int(params.left[i])
        expected = images[i, :, top : top + 8, left : left + 8]
        if params.flip[i]:
            expected = expected.flip(-1)
        assert torch.equal(out[i], expected)


def test_paired_sides_get_the_same_geometry_and_colour_also_with_other_channel_counts() -> None:
    augment = BatchAugment(crop_size=8, flip=True, color_jitter=0.4, paired=True)
    a = _images(5, 3, 12)
    out_a, out_b = augment(a, a.clone(), seed=7)
    assert torch.equal(out_a, out_b)  # same input, same draws -> same output, colour included
    geometry = BatchAugment(crop_size=8, flip=True, paired=True)
    out_a, out_b = geometry(a, a[:, :1].clone(), seed=7)  # B is A's first channel, 1-channel
    assert torch.equal(out_b, out_a[:, :1])


def test_unpaired_sides_draw_their_own_crops() -> None:
    augment = BatchAugment(crop_size=4, flip=False, paired=False)
    a = _images(8, 3, 16)
    out_a, out_b = augment(a, a.clone(), seed=1)
    # 13 x 13 possible offsets per image: 8 equal draws by chance has probability 169**-8
    assert not torch.equal(out_a, out_b)


def test_the_seed_fixes_every_draw() -> None:
    augment = BatchAugment(crop_size=8, flip=True, color_jitter=0.3, paired=True)
    a, b = _images(4, 3, 12, seed=1), _images(4, 3, 12, seed=2)
    first, again, other = augment(a, b, seed=5), augment(a, b, seed=5), augment(a, b, seed=6)
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert not torch.equal(first[0], other[0])


def test_colour_jitter_on_a_grey_image_is_the_brightness_factor() -> None:
    # A uniform grey image is its own mean (contrast is a no-op) and has no saturation or hue, so
    # only brightness acts: 0.5 * f in [0, 1], i.e. f - 1 in [-1, 1].
    grey = torch.zeros(4, 3, 6, 6)
    params = draw_params(
        4, 6, 6, crop_size=None, flip=False, color_jitter=0.5, generator=torch.Generator().manual_seed(0)
    )
    out = apply_params(grey, params, crop_size=None)
    assert params.brightness is not None
    expected = (params.brightness - 1)[:, None, None, None].expand_as(out)
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=0)


def test_colour_jitter_stays_in_range_leaves_alpha_and_zero_strength_is_the_identity() -> None:
    rgba = _images(3, 4, 8)
    out, _ = BatchAugment(crop_size=None, flip=False, color_jitter=1.0)(rgba, rgba, seed=0)
    assert out.min() >= -1 and out.max() <= 1
    assert torch.equal(out[:, 3], rgba[:, 3])
    assert not torch.allclose(out[:, :3], rgba[:, :3])
    same, _ = BatchAugment(crop_size=None, flip=False)(rgba, rgba, seed=0)
    assert torch.equal(same, rgba)


def test_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="larger than the images"):
        BatchAugment(crop_size=16, flip=False)(_images(1, 3, 8), _images(1, 3, 8), seed=0)
    with pytest.raises(ValueError, match="paired images differ in size"):
        BatchAugment(crop_size=4, flip=False)(_images(1, 3, 8), _images(1, 3, 10), seed=0)
    with pytest.raises(ValueError, match="color_jitter"):
        BatchAugment(crop_size=4, flip=False, color_jitter=2.0)


def test_docstring_examples_run() -> None:
    result = doctest.testmod(gpu_transforms)
    assert result.attempted >= 2 and result.failed == 0
