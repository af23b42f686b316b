"""Paired metrics for aligned translations (pix2pix-style test sets): PSNR, SSIM and L1.

Conventions (the same for every input type):

- Images are first mapped to ``[0, 1]``: float tensors linearly from ``value_range`` (``(-1, 1)``,
  the networks' range), uint8 arrays by ``/ 255``. All three metrics are computed on that scale.
- Each metric is computed **per image** and a test set is summarised by the mean over images (as
  papers do; not a PSNR of the pooled MSE).
- **PSNR** ``= 10 log10(1 / MSE)`` over all pixels and channels. Identical images (MSE 0) would give
  ``inf``; the value is capped at ``max_db`` (100 dB by default) so that means, JSON and plots stay
  finite. A uint8 256x256 RGB image one grey level off in one pixel scores 101 dB, so the cap only
  ever touches (near-)identical pairs.
- **SSIM** is kornia's (Gaussian window 11, sigma 1.5, ``c1 = 0.01^2``, ``c2 = 0.03^2``) with
  ``padding="valid"`` and ``eps=0`` as in Wang et al.'s reference code: the map is averaged over the
  valid pixels and over channels. Identical images score exactly 1. Images need ``H, W >= 11``.
- **L1** is the mean absolute difference on the ``[0, 1]`` scale (half the ``[-1, 1]`` L1 loss the
  training logs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from kornia.metrics import ssim as kornia_ssim
from numpy.typing import NDArray
from torch import Tensor

ImageBatch = Tensor | NDArray[np.uint8]

PSNR_CAP_DB = 100.0
SSIM_WINDOW = 11


def to_unit_range(images: ImageBatch, value_range: tuple[float, float] = (-1.0, 1.0)) -> Tensor:
    """Images as a float ``(B, C, H, W)`` tensor in ``[0, 1]``.

    Accepts float tensors ``(B, C, H, W)`` / ``(C, H, W)`` in ``value_range``, and uint8 numpy
    arrays ``(B, H, W, C)`` / ``(H, W, C)`` / ``(H, W)`` (HWC, as :func:`i2i.data.io.read_image`).
    Values outside the range are clamped.
    """
    if isinstance(images, np.ndarray):
        if images.dtype != np.uint8:
            raise ValueError(f"paired metrics: numpy images must be uint8, got {images.dtype}")
        array = images[..., None] if images.ndim == 2 else images
        if array.ndim == 3:
            array = array[None]
        if array.ndim != 4:
            raise ValueError(f"paired metrics: expected (B, H, W, C) uint8 images, got {images.shape}")
        return torch.from_numpy(np.ascontiguousarray(array)).permute(0, 3, 1, 2).float() / 255.0
    if not torch.is_floating_point(images):
        raise ValueError(f"paired metrics: tensors must be float in value_range, got {images.dtype}")
    tensor = images[None] if images.ndim == 3 else images
    if tensor.ndim != 4:
        raise ValueError(f"paired metrics: expected (B, C, H, W) tensors, got {tuple(images.shape)}")
    low, high = value_range
    return ((tensor.float() - low) / (high - low)).clamp(0.0, 1.0)


def _pair(fake: ImageBatch, real: ImageBatch, value_range: tuple[float, float]) -> tuple[Tensor, Tensor]:
    a, b = to_unit_range(fake, value_range), to_unit_range(real, value_range)
    if a.shape != b.shape:
        raise ValueError(f"paired metrics: fake {tuple(a.shape)} and real {tuple(b.shape)} differ in shape")
    return a, b.to(a.device)


def psnr(
    fake: ImageBatch,
    real: ImageBatch,
    *,
    value_range: tuple[float, float] = (-1.0, 1.0),
    max_db: float = PSNR_CAP_DB,
) -> Tensor:
    """Per-image PSNR in dB on the ``[0, 1]`` scale, capped at ``max_db`` (identical images).

    Shape:
        - Input: see :func:`to_unit_range`; ``fake`` and ``real`` of equal shape.
        - Output: ``(B,)``.

    Example:
        >>> real = torch.full((1, 3, 4, 4), -1.0)  # black
        >>> round(psnr(real + 0.2, real).item(), 6)  # 0.1 on [0, 1]: MSE 0.01 -> 20 dB
        20.0
    """
    a, b = _pair(fake, real, value_range)
    mse = (a.double() - b.double()).pow(2).mean(dim=(1, 2, 3))
    return (10 * torch.log10(1.0 / mse)).clamp(max=max_db).float()


def ssim(
    fake: ImageBatch,
    real: ImageBatch,
    *,
    value_range: tuple[float, float] = (-1.0, 1.0),
    window_size: int = SSIM_WINDOW,
) -> Tensor:
    """Per-image SSIM (kornia, ``padding="valid"``, mean over pixels and channels).

    Shape:
        - Input: see :func:`to_unit_range`; ``H, W >= window_size``.
        - Output: ``(B,)`` in ``[-1, 1]``; 1 for identical images.
    """
    a, b = _pair(fake, real, value_range)
    if min(a.shape[-2:]) < window_size:
        raise ValueError(f"ssim: images of {tuple(a.shape[-2:])} are smaller than the {window_size}px window")
    ssim_map = kornia_ssim(a, b, window_size, max_val=1.0, eps=0.0, padding="valid")
    return ssim_map.mean(dim=(1, 2, 3))


def l1(fake: ImageBatch, real: ImageBatch, *, value_range: tuple[float, float] = (-1.0, 1.0)) -> Tensor:
    """Per-image mean absolute difference on the ``[0, 1]`` scale. Shape: ``(B,)``."""
    a, b = _pair(fake, real, value_range)
    return (a - b).abs().mean(dim=(1, 2, 3))


@dataclass(frozen=True)
class PairedScores:
    """Means over a test set of per-image PSNR (dB), SSIM and L1 (``[0, 1]`` scale)."""

    psnr: float
    ssim: float
    l1: float
    count: int


@dataclass
class PairedAccumulator:
    """Collects per-image paired metrics batch by batch; :meth:`compute` gives the means."""

    value_range: tuple[float, float] = (-1.0, 1.0)
    _psnr: list[float] = field(default_factory=list)
    _ssim: list[float] = field(default_factory=list)
    _l1: list[float] = field(default_factory=list)

    @torch.no_grad()
    def update(self, fake: ImageBatch, real: ImageBatch) -> None:
        self._psnr += psnr(fake, real, value_range=self.value_range).tolist()
        self._ssim += ssim(fake, real, value_range=self.value_range).tolist()
        self._l1 += l1(fake, real, value_range=self.value_range).tolist()

    def compute(self) -> PairedScores:
        if not self._psnr:
            raise ValueError("PairedAccumulator: no images were added")
        return PairedScores(
            psnr=float(np.mean(self._psnr)),
            ssim=float(np.mean(self._ssim)),
            l1=float(np.mean(self._l1)),
            count=len(self._psnr),
        )
