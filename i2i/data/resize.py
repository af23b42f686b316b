"""The one resize of i2i (PIL bicubic, antialiased when shrinking) and the size rules built on it.

Training, evaluation and :class:`~i2i.infer.Translator` all resize with :func:`resize`. This module
needs only numpy and PIL, so that translating with an exported model never imports the training stack
(albumentations, torch).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = ["hwc", "make_multiple", "resize", "scale_width"]


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bicubic resize of a ``uint8`` image, antialiased when shrinking: the one resize of i2i.

    PIL's bicubic filter (``a = -0.5``) stretches its support by the scale factor when shrinking, so
    frequencies above the new Nyquist limit are filtered out instead of folding back as aliasing
    (OpenCV's ``INTER_CUBIC`` samples a fixed 4x4 neighbourhood and aliases). It is the filter of
    the reference's ``torchvision.transforms.Resize`` on PIL images, so both give the same pixels.
    Channels are resized one by one (PIL's multi-band modes do the same per band), so any channel
    count works.

    Args:
        image: ``uint8`` ``(H, W)`` or ``(H, W, C)``.
        height: Output height.
        width: Output width.

    Returns:
        ``uint8`` ``(height, width, C)`` (a trailing channel axis is added to 2-D input); ``image``
        itself when it already has that size.

    Example:
        >>> columns = 127.5 + 127.5 * np.cos(2 * np.pi * np.arange(64) / 2.5)  # stripes of period 2.5 px
        >>> stripes = np.tile(columns, (64, 1)).round().astype(np.uint8)
        >>> small = resize(stripes, 16, 16)  # shrunk by 4: periods under 8 px cannot be represented
        >>> small.shape, float(small[:, 2:-2].std()) < 1  # filtered to flat grey, not folded back
        ((16, 16, 1), True)
    """
    if image.dtype != np.uint8:
        raise ValueError(f"resize expects uint8 pixels, got {image.dtype}")
    if min(height, width) < 1:
        raise ValueError(f"resize needs a positive size, got {height}x{width}")
    image = hwc(image)
    if image.shape[:2] == (height, width):
        return image
    bands = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(image[:, :, c])).resize(
                (width, height), Image.Resampling.BICUBIC
            )
        )
        for c in range(image.shape[2])
    ]
    return np.stack(bands, axis=2)


def scale_width(image: np.ndarray, width: int, min_height: int) -> np.ndarray:
    """Resize so the width is ``width``, keeping the aspect ratio, with height at least ``min_height``."""
    height, old_width = image.shape[:2]
    new_height = max(int(width * height / old_width), min_height)
    return resize(image, new_height, width)


def make_multiple(image: np.ndarray, multiple: int) -> np.ndarray:
    """Resize H and W to the nearest multiple of ``multiple`` (at least ``multiple``); no-op if they are."""
    height, width = image.shape[:2]
    new_height = max(multiple, round(height / multiple) * multiple)
    new_width = max(multiple, round(width / multiple) * multiple)
    return resize(image, new_height, new_width)


def hwc(image: np.ndarray) -> np.ndarray:
    """OpenCV drops a trailing channel axis of size 1; put it back."""
    return image[:, :, None] if image.ndim == 2 else image
