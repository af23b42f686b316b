"""One object for how a dataset prepares its images: :class:`Geometry`, passed once to every dataset.

It holds the mode (train / eval), the direction, the sizes and preprocessing of
:class:`i2i.data.transforms.PairedTransform`, the channel counts and the seed of the random draws.
:meth:`Geometry.from_data` reads it from a recipe's ``data`` section (duck-typed: ``i2i.data`` does not
import ``i2i.config``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal, Protocol

from i2i.data.transforms import Preprocess

__all__ = ["DataSection", "Direction", "Geometry"]

Direction = Literal["a2b", "b2a"]


class DataSection(Protocol):
    """What :meth:`Geometry.from_data` reads from a recipe's ``data`` section."""

    @property
    def direction(self) -> Direction: ...
    @property
    def load_size(self) -> int: ...
    @property
    def crop_size(self) -> int: ...
    @property
    def preprocess(self) -> Preprocess: ...
    @property
    def flip(self) -> bool: ...
    @property
    def in_channels(self) -> int: ...
    @property
    def out_channels(self) -> int: ...
    @property
    def augment_on(self) -> str: ...


@dataclass(frozen=True)
class Geometry:
    """How a dataset turns decoded images into tensors; the defaults are pix2pix's training settings.

    Args:
        train: Random crop / flip drawn from ``(seed, epoch, index)`` when True; the deterministic eval
            geometry (resize / centre crop, never flipped) when False.
        direction: ``"b2a"`` swaps the two sides before anything else.
        load_size: Resize target before the random crop (pixels).
        crop_size: Crop size, train and eval (pixels).
        preprocess: One of :data:`i2i.data.transforms.PREPROCESS_MODES`.
        flip: Random horizontal flip with probability 0.5 (train only).
        in_channels: Channels of side ``a`` (the generator's input): 1, 3 or 4.
        out_channels: Channels of side ``b`` (the target): 1, 3 or 4.
        size_multiple: Output H and W are rounded to a multiple of this.
        seed: Seed of the random draws (crops, flips, unaligned partners, synthetic images).

    Example:
        >>> Geometry(train=False, crop_size=128).crop_size
        128
        >>> Geometry(direction="c2d")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ValueError: direction must be 'a2b' or 'b2a', got 'c2d'
    """

    train: bool = True
    direction: Direction = "a2b"
    load_size: int = 286
    crop_size: int = 256
    preprocess: Preprocess = "resize_and_crop"
    flip: bool = True
    in_channels: int = 3
    out_channels: int = 3
    size_multiple: int = 4
    seed: int = 0

    def __post_init__(self) -> None:
        if self.direction not in ("a2b", "b2a"):
            raise ValueError(f"direction must be 'a2b' or 'b2a', got {self.direction!r}")
        for name, value in (("in_channels", self.in_channels), ("out_channels", self.out_channels)):
            if value not in (1, 3, 4):
                raise ValueError(f"{name} must be 1, 3 or 4, got {value!r}")

    @classmethod
    def from_data(cls, data: DataSection, *, train: bool, seed: int = 0, size_multiple: int = 4) -> Geometry:
        """The geometry a recipe's ``data`` section asks for, in train or eval mode.

        In training with ``data.augment_on == "device"`` the random part is left to the batches on the
        device (see :meth:`without_random_part`).
        """
        geometry = cls(
            train=train,
            direction=data.direction,
            load_size=data.load_size,
            crop_size=data.crop_size,
            preprocess=data.preprocess,
            flip=data.flip,
            in_channels=data.in_channels,
            out_channels=data.out_channels,
            size_multiple=size_multiple,
            seed=seed,
        )
        return geometry.without_random_part() if train and data.augment_on == "device" else geometry

    def without_random_part(self) -> Geometry:
        """This geometry with the random crop and flip left to :class:`i2i.data.gpu_transforms.BatchAugment`.

        ``resize_and_crop`` becomes a plain resize to ``load_size`` rounded to the nearest multiple of 4
        (the datasets round every image so; rounding first avoids a second resize), with the crop and
        flip left out; ``none`` only loses the flip. Other modes raise ``ValueError``.

        Example:
            >>> g = Geometry(load_size=286, crop_size=256).without_random_part()
            >>> g.load_size, g.crop_size, g.flip
            (288, 288, False)
        """
        if self.preprocess == "resize_and_crop":
            size = max(self.crop_size, 4 * round(self.load_size / 4))
            return dataclasses.replace(self, load_size=size, crop_size=size, flip=False)
        if self.preprocess == "none":
            return dataclasses.replace(self, flip=False)
        raise ValueError(
            f"augmentation on the device supports preprocess resize_and_crop or none, got {self.preprocess!r}"
        )

    def one_sided(self) -> Geometry:
        """The geometry of a dataset of single images (labelled, or a folder to translate): direction
        ``a2b`` and ``out_channels`` equal to ``in_channels``."""
        return dataclasses.replace(self, direction="a2b", out_channels=self.in_channels)
