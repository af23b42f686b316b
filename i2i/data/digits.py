"""Built-in labelled data: the digits 0-9 drawn with OpenCV's Hershey fonts, MNIST-like.

Each image is one white digit on black, drawn in one of several Hershey fonts at a random height,
stroke thickness, rotation and offset, rendered at 4x and shrunk with area interpolation (antialiased).
Image ``i`` of a split shows digit ``i % 10`` (balanced classes) and depends only on
``(seed, split, i)``. Used by the ``cgan`` demo recipe and the tests; no download needed.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from i2i.data._base import item_seed
from i2i.data.io import convert_channels, to_tensor

__all__ = ["DIGIT_CLASSES", "FONTS", "DigitsDataset", "render_digit"]

DIGIT_CLASSES: tuple[str, ...] = tuple(str(d) for d in range(10))
FONTS: tuple[int, ...] = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_PLAIN,
    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
)
"""The Hershey fonts digits are drawn in (sans, serif, plain and handwriting-like)."""

_OVERSAMPLE = 4


def render_digit(digit: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``digit`` (0-9) as white on black, ``uint8`` ``(size, size)``, with random style from ``rng``.

    Style: a font of :data:`FONTS`, glyph height 45-75 % of the image, stroke 8-18 % of the glyph
    height, rotation within +-20 degrees, offset within +-8 % of the image.

    Example:
        >>> image = render_digit(7, 28, np.random.default_rng(0))
        >>> image.shape, image.dtype, int(image.max()) > 200, int(image[0, 0])
        ((28, 28), dtype('uint8'), True, 0)
    """
    if not 0 <= digit <= 9:
        raise ValueError(f"digit must be 0-9, got {digit}")
    canvas = size * _OVERSAMPLE
    font = FONTS[int(rng.integers(len(FONTS)))]
    height = canvas * rng.uniform(0.45, 0.75)  # glyph height in canvas pixels
    thickness = max(1, round(height * rng.uniform(0.08, 0.18)))
    angle = rng.uniform(-20.0, 20.0)
    shift = rng.uniform(-0.08, 0.08, size=2) * canvas
    text = str(digit)
    (_, unit_height), _ = cv2.getTextSize(text, font, 1.0, 1)
    scale = height / max(unit_height, 1)
    (width, text_height), _ = cv2.getTextSize(text, font, scale, thickness)
    image = np.zeros((canvas, canvas), np.uint8)
    origin = (round((canvas - width) / 2), round((canvas + text_height) / 2))  # bottom-left of the text
    cv2.putText(image, text, origin, font, scale, 255, thickness, cv2.LINE_AA)
    ys, xs = np.nonzero(image)  # centre the ink, then rotate about the centre and shift
    centre = ((xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2)
    matrix = cv2.getRotationMatrix2D(centre, angle, 1.0)
    matrix[:, 2] += (canvas / 2 - centre[0] + shift[0], canvas / 2 - centre[1] + shift[1])
    turned = cv2.warpAffine(image, matrix, (canvas, canvas), flags=cv2.INTER_LINEAR, borderValue=0)
    small: np.ndarray = cv2.resize(turned, (size, size), interpolation=cv2.INTER_AREA)
    return small


class DigitsDataset(Dataset[dict[str, object]]):
    """``count`` rendered digits of ``size`` pixels; item ``i`` shows digit ``i % 10``.

    Items are ``{"a": (C, size, size) float in [-1, 1], "label": int, "a_path": str}`` with paths
    ``"synthetic://digits/SPLIT/INDEX"``. No augmentation: every draw is already random per item.

    Args:
        count: Number of images.
        size: Height and width (at least 8).
        split: Split name; part of each image's seed, so train and test differ.
        seed: Seed of the whole set.
        channels: 1 (gray, as MNIST) or 3 (gray repeated).

    Example:
        >>> item = DigitsDataset(20, 16)[13]
        >>> tuple(item["a"].shape), item["label"]
        ((1, 16, 16), 3)
    """

    classes: tuple[str, ...] = DIGIT_CLASSES

    def __init__(
        self, count: int, size: int = 32, *, split: str = "train", seed: int = 0, channels: int = 1
    ) -> None:
        if count < 1 or size < 8:
            raise ValueError(f"need count >= 1 and size >= 8, got count={count}, size={size}")
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {channels}")
        self.count, self.size, self.split, self.seed, self.channels = count, size, split, seed, channels

    def __len__(self) -> int:
        return self.count

    def image(self, index: int) -> np.ndarray:
        """Image ``index`` as ``uint8`` ``(size, size, channels)``."""
        if not 0 <= index < self.count:
            raise IndexError(index)
        rng = np.random.default_rng(item_seed(self.seed, self.split, index, "digits"))
        return convert_channels(render_digit(index % 10, self.size, rng)[:, :, None], self.channels)

    def __getitem__(self, index: int) -> dict[str, object]:
        image: torch.Tensor = to_tensor(self.image(index))
        return {"a": image, "label": index % 10, "a_path": f"synthetic://digits/{self.split}/{index}"}
