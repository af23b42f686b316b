"""Built-in demo data, drawn with OpenCV on the fly: no download, deterministic by seed.

* Paired (pix2pix): A is a label map (flat class colours on black: circle red, rectangle green,
  triangle blue); B is the same scene "rendered": each class has its own paint colour, shaded by a
  light from the top left, outlined, with a drop shadow on a softly textured light background. The
  mapping A -> B is mostly a function of A, so pix2pix learns it in minutes at 64 x 64 on a CPU.
* Unpaired (CycleGAN): domain A = warm circles on a light background; domain B = cool squares on a
  dark background. The domains differ in colour, brightness and shape, so the translation is easy to
  see.

Image ``i`` of a split depends only on ``(seed, split, i)`` (and the domain), never on other items or
on the process; train and test differ because the split name is part of the seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from i2i.data._base import I2IDataset, item_seed
from i2i.data.geometry import Geometry
from i2i.data.io import convert_channels, write_image

__all__ = [
    "SyntheticPairedDataset",
    "SyntheticUnpairedDataset",
    "synthetic_domain_image",
    "synthetic_geometry",
    "synthetic_pair",
    "write_synthetic_folder",
]

Domain = Literal["a", "b"]
_KINDS = ("circle", "rectangle", "triangle")
_LABEL_COLOURS = {"circle": (230, 30, 30), "rectangle": (30, 200, 30), "triangle": (30, 30, 230)}
_PAINT_COLOURS = {"circle": (235, 140, 40), "rectangle": (60, 110, 200), "triangle": (70, 160, 80)}
_SS = 4  # sub-pixel bits for OpenCV drawing (coordinates are scaled by 2**_SS)


def synthetic_pair(
    index: int, size: int = 64, *, seed: int = 0, split: str = "train"
) -> tuple[np.ndarray, np.ndarray]:
    """The ``index``-th paired sample: ``(label_map, photo)``, both ``uint8`` ``(size, size, 3)`` RGB."""
    rng = np.random.default_rng(item_seed(seed, split, index, "paired"))
    photo = _textured_background(rng, size, base=(205, 198, 186), amplitude=14.0)
    label = np.zeros((size, size, 3), np.uint8)
    for _ in range(int(rng.integers(1, 4))):
        kind = _KINDS[int(rng.integers(len(_KINDS)))]
        points = _shape_points(rng, kind, size)
        hard = _mask(points, size, antialias=False)
        label[hard > 0] = _LABEL_COLOURS[kind]
        _paint(photo, points, np.array(_PAINT_COLOURS[kind], np.float32), size)
    return label, _finish(photo)


def synthetic_domain_image(
    domain: Domain, index: int, size: int = 64, *, seed: int = 0, split: str = "train"
) -> np.ndarray:
    """The ``index``-th unpaired image of ``domain``: "a" warm circles on light, "b" cool squares on dark."""
    if domain not in ("a", "b"):
        raise ValueError(f"domain must be 'a' or 'b', got {domain!r}")
    rng = np.random.default_rng(item_seed(seed, split, index, f"unpaired-{domain}"))
    if domain == "a":
        image = _textured_background(rng, size, base=(232, 226, 214), amplitude=10.0)
    else:
        image = _textured_background(rng, size, base=(34, 40, 58), amplitude=8.0)
    kind = "circle" if domain == "a" else "rectangle"
    for _ in range(int(rng.integers(2, 5))):
        if domain == "a":  # warm: red-orange-yellow
            colour = np.array([rng.uniform(200, 255), rng.uniform(60, 190), rng.uniform(20, 70)], np.float32)
        else:  # cool: cyan-blue-violet
            colour = np.array([rng.uniform(20, 90), rng.uniform(90, 200), rng.uniform(170, 255)], np.float32)
        _paint(image, _shape_points(rng, kind, size, square=True), colour, size, shadow=domain == "a")
    return _finish(image)


def synthetic_geometry(size: int, **changes: object) -> Geometry:
    """The default geometry of the synthetic datasets: train mode, ``load_size = crop_size = size``,
    ``preprocess="none"``, with ``changes`` (any :class:`Geometry` field) applied."""
    return Geometry(**{"load_size": size, "crop_size": size, "preprocess": "none", **changes})  # type: ignore[arg-type]


class SyntheticPairedDataset(I2IDataset):
    """``count`` paired samples (label map -> photo) of ``size`` pixels; see the module docstring.

    Items follow the file datasets (``{"a", "b", "a_path", "b_path"}``, paths
    ``"synthetic://paired/SPLIT/INDEX"``) and go through the same preprocessing; the default geometry
    is :func:`synthetic_geometry` (``size`` pixels, ``preprocess="none"``).
    """

    def __init__(
        self,
        count: int,
        size: int = 64,
        geometry: Geometry | None = None,
        *,
        split: str = "train",
    ) -> None:
        super().__init__(geometry or synthetic_geometry(size))
        if count < 1 or size < 8:
            raise ValueError(f"need count >= 1 and size >= 8, got count={count}, size={size}")
        self.count, self.size, self.split = count, size, split

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> dict[str, object]:
        if not 0 <= index < self.count:
            raise IndexError(index)
        label, photo = synthetic_pair(index, self.size, seed=self.seed, split=self.split)
        a, b = (label, photo) if self.direction == "a2b" else (photo, label)
        a, b = convert_channels(a, self.in_channels), convert_channels(b, self.out_channels)
        real_a, real_b = self.transform(a, b, seed=self.augment_seed(index))
        path = f"synthetic://paired/{self.split}/{index}"
        return {"a": real_a, "b": real_b, "a_path": path, "b_path": path}


class SyntheticUnpairedDataset(I2IDataset):
    """``count`` images per domain (warm circles / cool squares); item ``i`` is A image ``i`` and a
    B image drawn from ``(seed, epoch, i)`` in training (``i`` in eval), like the unaligned files.

    Paths are ``"synthetic://unpaired/SPLIT/A/INDEX"`` and ``".../B/INDEX"`` (domain names before
    ``direction`` swaps them).
    """

    def __init__(
        self,
        count: int,
        size: int = 64,
        geometry: Geometry | None = None,
        *,
        split: str = "train",
    ) -> None:
        super().__init__(geometry or synthetic_geometry(size))
        if count < 1 or size < 8:
            raise ValueError(f"need count >= 1 and size >= 8, got count={count}, size={size}")
        self.count, self.size, self.split = count, size, split

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> dict[str, object]:
        if not 0 <= index < self.count:
            raise IndexError(index)
        partner = int(self.partner_rng(index).integers(self.count)) if self.train else index
        source: Domain = "a" if self.direction == "a2b" else "b"
        target: Domain = "b" if source == "a" else "a"
        a = synthetic_domain_image(source, index, self.size, seed=self.seed, split=self.split)
        b = synthetic_domain_image(target, partner, self.size, seed=self.seed, split=self.split)
        seed = self.augment_seed(index)
        real_a, _ = self.transform(convert_channels(a, self.in_channels), seed=seed)
        real_b, _ = self.transform(convert_channels(b, self.out_channels), seed=seed + 1)
        prefix = f"synthetic://unpaired/{self.split}"
        return {
            "a": real_a,
            "b": real_b,
            "a_path": f"{prefix}/{source.upper()}/{index}",
            "b_path": f"{prefix}/{target.upper()}/{partner}",
        }


def write_synthetic_folder(
    root: str | Path,
    kind: Literal["paired", "unpaired"],
    count: int,
    size: int = 64,
    seed: int = 0,
    *,
    splits: Sequence[str] = ("train", "test"),
) -> Path:
    """Write the synthetic data as PNG files in the on-disk layouts, ``count`` images per split.

    ``"paired"`` writes the aligned layout ``ROOT/SPLIT/NNNN.png`` (label | photo side by side,
    ``size`` x ``2 * size``); ``"unpaired"`` the unaligned layout ``ROOT/SPLITA/NNNN.png`` and
    ``ROOT/SPLITB/NNNN.png``. The images equal the synthetic datasets' items for the same seed and split.

    Returns:
        ``root``.
    """
    root = Path(root)
    if kind not in ("paired", "unpaired"):
        raise ValueError(f"kind must be 'paired' or 'unpaired', got {kind!r}")
    for split in splits:
        for i in range(count):
            name = f"{i:04d}.png"
            if kind == "paired":
                label, photo = synthetic_pair(i, size, seed=seed, split=split)
                write_image(root / split / name, np.concatenate([label, photo], axis=1))
            else:
                write_image(
                    root / f"{split}A" / name, synthetic_domain_image("a", i, size, seed=seed, split=split)
                )
                write_image(
                    root / f"{split}B" / name, synthetic_domain_image("b", i, size, seed=seed, split=split)
                )
    return root


# --- drawing -------------------------------------------------------------------------------------


def _textured_background(
    rng: np.random.Generator, size: int, base: tuple[int, int, int], amplitude: float
) -> np.ndarray:
    """A flat colour with two soft random waves and fine noise: float32 ``(size, size, 3)``."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    waves = np.zeros((size, size), np.float32)
    for _ in range(2):
        fx, fy = rng.uniform(-3, 3, size=2)
        waves += np.sin(2 * np.pi * (fx * xx + fy * yy) + rng.uniform(0, 2 * np.pi)).astype(np.float32)
    noise = cv2.GaussianBlur(rng.normal(0.0, 1.0, size=(size, size)).astype(np.float32), (3, 3), 0)
    texture = 0.5 * amplitude * waves + 0.6 * amplitude * noise
    return np.asarray(base, np.float32)[None, None, :] + texture[:, :, None]


def _shape_points(rng: np.random.Generator, kind: str, size: int, *, square: bool = False) -> np.ndarray:
    """Outline points (float ``(N, 2)`` x, y in pixels) of a random shape that lies inside the image."""
    radius = rng.uniform(0.12, 0.28) * size
    cx, cy = rng.uniform(radius, size - radius, size=2)
    if kind == "circle":
        angles = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        return np.stack([cx + radius * np.cos(angles), cy + radius * np.sin(angles)], axis=1)
    if kind == "rectangle":  # corners of a rotated rectangle inscribed in the circle of `radius`
        half = radius / np.sqrt(2) * np.array([1.0, 1.0 if square else rng.uniform(0.55, 1.0)])
        corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float64) * half
        theta = rng.uniform(0, np.pi / 2)
        rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
        return corners @ rotation.T + np.array([cx, cy])
    angles = rng.uniform(0, 2 * np.pi) + np.array([0.0, 2 * np.pi / 3, 4 * np.pi / 3])
    return np.stack([cx + radius * np.cos(angles), cy + radius * np.sin(angles)], axis=1)


def _mask(points: np.ndarray, size: int, *, antialias: bool, offset: float = 0.0) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    fixed = np.round((points + offset) * (1 << _SS)).astype(np.int32)
    cv2.fillPoly(mask, [fixed], 255, cv2.LINE_AA if antialias else cv2.LINE_8, _SS)
    return mask


def _paint(
    canvas: np.ndarray, points: np.ndarray, colour: np.ndarray, size: int, *, shadow: bool = True
) -> None:
    """Composite a lit, outlined shape (and its drop shadow) onto the float RGB ``canvas`` in place."""
    if shadow:
        drop = _mask(points, size, antialias=True, offset=max(1.0, size / 40)).astype(np.float32) / 255
        canvas *= (1.0 - 0.35 * drop)[:, :, None]
    alpha = _mask(points, size, antialias=True).astype(np.float32)[:, :, None] / 255
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    t = np.clip(((xx - x0) / max(x1 - x0, 1) + (yy - y0) / max(y1 - y0, 1)) / 2, 0, 1)  # 0 at the light
    shaded = colour[None, None, :] * (1.25 - 0.55 * t)[:, :, None]
    canvas *= 1.0 - alpha
    canvas += alpha * shaded
    outline = np.round(points * (1 << _SS)).astype(np.int32)
    dark = tuple(float(c) for c in 0.45 * colour)
    cv2.polylines(canvas, [outline], True, dark, 1, cv2.LINE_AA, _SS)
    np.clip(canvas, 0, 255, out=canvas)


def _finish(canvas: np.ndarray) -> np.ndarray:
    return np.clip(canvas, 0, 255).round().astype(np.uint8)
