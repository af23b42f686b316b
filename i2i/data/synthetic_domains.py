"""Built-in multi-domain demo data: the same kind of scene painted in one colour per domain.

Every image is one shape (circle, square or triangle) at a random place and size on a softly
textured gray background; the domain sets the shape's colour (``red``, ``green``, ``blue``). A
multi-domain translator (StarGAN) must repaint the shape and keep its outline and the background.
Image ``i`` of a split belongs to domain ``i % D`` and depends only on ``(seed, split, i)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from i2i.data._base import item_seed

__all__ = ["DOMAIN_COLOURS", "SYNTHETIC_DOMAINS", "synthetic_domain_names", "synthetic_domain_sample"]

DOMAIN_COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 190, 60),
    "blue": (40, 70, 225),
}
"""RGB paint of the shape in each built-in domain."""

SYNTHETIC_DOMAINS: tuple[str, ...] = tuple(DOMAIN_COLOURS)

_SS = 4  # sub-pixel bits for OpenCV drawing


def synthetic_domain_names(domains: Sequence[str] | None = None) -> list[str]:
    """The built-in domains to use, in label order: ``domains`` (checked), or all of them when empty.

    Example:
        >>> synthetic_domain_names(), synthetic_domain_names(["blue", "red"])
        (['red', 'green', 'blue'], ['blue', 'red'])
    """
    names = list(domains) if domains else list(SYNTHETIC_DOMAINS)
    unknown = [d for d in names if d not in SYNTHETIC_DOMAINS]
    if unknown:
        raise ValueError(f"unknown synthetic domains {unknown} (known: {', '.join(SYNTHETIC_DOMAINS)})")
    return names


def synthetic_domain_sample(
    domain: str, index: int, size: int = 64, *, seed: int = 0, split: str = "train"
) -> np.ndarray:
    """Scene ``index`` painted for ``domain`` (a key of :data:`DOMAIN_COLOURS`): ``uint8`` ``(size, size, 3)``.

    The shape and background depend on ``(seed, split, index)`` only, so the same index in two
    domains shows the same scene in two colours.

    Example:
        >>> red = synthetic_domain_sample("red", 0, 32)
        >>> blue = synthetic_domain_sample("blue", 0, 32)
        >>> red.shape, bool(((red != blue).any(axis=2)).mean() < 0.6)
        ((32, 32, 3), True)
    """
    if domain not in DOMAIN_COLOURS:
        raise ValueError(f"unknown domain {domain!r} (known: {', '.join(DOMAIN_COLOURS)})")
    rng = np.random.default_rng(item_seed(seed, split, index, "domains"))
    gray = rng.uniform(110, 170)
    noise = cv2.GaussianBlur(rng.normal(0.0, 12.0, (size, size)).astype(np.float32), (0, 0), size / 16)
    image = np.repeat((gray + noise)[:, :, None], 3, axis=2)  # (S, S, 3) float
    kind = int(rng.integers(3))
    radius = rng.uniform(0.18, 0.32) * size
    centre = rng.uniform(radius + 1, size - radius - 1, size=2)
    mask = np.zeros((size, size), np.uint8)
    scale = 2**_SS
    c = np.round(centre * scale).astype(np.int32)
    r = round(radius * scale)
    if kind == 0:
        cv2.circle(mask, (int(c[0]), int(c[1])), r, 255, -1, cv2.LINE_AA, _SS)
    else:
        corners = 4 if kind == 1 else 3
        turn = rng.uniform(0, 2 * np.pi)
        angles = turn + np.arange(corners) * 2 * np.pi / corners
        points = np.stack([centre[0] + radius * np.cos(angles), centre[1] + radius * np.sin(angles)], 1)
        cv2.fillPoly(mask, [np.round(points * scale).astype(np.int32)], 255, cv2.LINE_AA, _SS)
    paint = np.array(DOMAIN_COLOURS[domain], np.float32) * rng.uniform(0.9, 1.1)
    alpha = (mask.astype(np.float32) / 255.0)[:, :, None]
    image = image * (1 - alpha) + paint * alpha
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)
