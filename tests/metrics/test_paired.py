"""PSNR / SSIM / L1 on hand-computed inputs."""

from __future__ import annotations

import math

import kornia
import numpy as np
import pytest
import torch

from i2i.metrics.paired import PSNR_CAP_DB, PairedAccumulator, l1, psnr, ssim, to_unit_range


def test_identical_images_score_ssim_one_psnr_cap_l1_zero() -> None:
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    torch.testing.assert_close(ssim(x, x), torch.ones(2))
    torch.testing.assert_close(psnr(x, x), torch.full((2,), PSNR_CAP_DB))
    torch.testing.assert_close(l1(x, x), torch.zeros(2))


def test_known_mse_gives_known_psnr_per_image() -> None:
    real = torch.full((2, 3, 12, 12), -1.0)  # black in [-1, 1]
    fake = real.clone()
    fake[0] += 0.2  # 0.1 on the [0, 1] scale: MSE 0.01 -> 20 dB
    fake[1, :, :6] += 0.4  # 0.2 on half the pixels: MSE 0.02 -> 10 log10(50) dB
    torch.testing.assert_close(psnr(fake, real), torch.tensor([20.0, 10 * math.log10(50)]))
    torch.testing.assert_close(l1(fake, real), torch.tensor([0.1, 0.1]))


def test_psnr_equals_kornia_per_image() -> None:
    fake, real = torch.rand(3, 3, 16, 16), torch.rand(3, 3, 16, 16)
    ours = psnr(fake, real, value_range=(0.0, 1.0))
    theirs = torch.stack([kornia.metrics.psnr(f, r, 1.0) for f, r in zip(fake, real, strict=True)])
    torch.testing.assert_close(ours, theirs)


def test_uint8_images_are_divided_by_255() -> None:
    real = np.zeros((12, 12, 3), np.uint8)
    fake = np.full((12, 12, 3), 51, np.uint8)  # 0.2: MSE 0.04
    assert psnr(fake, real).item() == pytest.approx(10 * math.log10(25), abs=1e-5)
    assert l1(fake, real).item() == pytest.approx(0.2, abs=1e-6)
    both = np.stack([fake, real])  # (B, H, W, C)
    torch.testing.assert_close(to_unit_range(both)[:, :, 0, 0], torch.tensor([[0.2] * 3, [0.0] * 3]))


def test_ssim_of_flat_images_is_the_luminance_term() -> None:
    # sigma = 0 for flat images, so SSIM = (2 a b + c1) / (a^2 + b^2 + c1), c1 = 0.01^2
    a = torch.full((1, 1, 16, 16), 0.5)
    b = torch.full((1, 1, 16, 16), 0.25)
    expected = (2 * 0.5 * 0.25 + 1e-4) / (0.25 + 0.0625 + 1e-4)
    assert ssim(a, b, value_range=(0.0, 1.0)).item() == pytest.approx(expected, rel=1e-5)


def test_ssim_drops_with_noise_and_rejects_tiny_images() -> None:
    x = torch.rand(1, 3, 32, 32)
    noisy = (x + 0.3 * torch.randn_like(x)).clamp(0, 1)
    assert ssim(noisy, x, value_range=(0.0, 1.0)).item() < 0.8  # noise std 0.3 on uniform images
    with pytest.raises(ValueError, match="smaller than the 11px window"):
        ssim(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))


def test_shape_and_dtype_errors() -> None:
    with pytest.raises(ValueError, match="differ in shape"):
        l1(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 5))
    with pytest.raises(ValueError, match="uint8"):
        l1(np.zeros((4, 4, 3), np.float32), np.zeros((4, 4, 3), np.float32))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="float"):
        l1(torch.zeros(1, 3, 4, 4, dtype=torch.uint8), torch.zeros(1, 3, 4, 4, dtype=torch.uint8))


def test_accumulator_averages_per_image_values() -> None:
    real = torch.full((1, 3, 12, 12), -1.0)
    acc = PairedAccumulator()
    acc.update(real + 0.2, real)  # 20 dB
    acc.update(torch.cat([real + 0.02, real]), torch.cat([real, real]))  # 40 dB and the cap
    scores = acc.compute()
    assert scores.count == 3
    assert scores.psnr == pytest.approx((20 + 40 + PSNR_CAP_DB) / 3, rel=1e-5)
    assert scores.l1 == pytest.approx((0.1 + 0.01 + 0) / 3, rel=1e-5)
    with pytest.raises(ValueError, match="no images"):
        PairedAccumulator().compute()


def test_docstring_examples_run() -> None:
    import doctest

    import i2i.metrics.paired

    result = doctest.testmod(i2i.metrics.paired, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
