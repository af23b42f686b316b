"""Preprocessing as in pix2pix / CycleGAN's ``--preprocess``, built on albumentations.

One :class:`PairedTransform` applies *the same* random crop and flip to image A and image B (an
albumentations ``additional_targets`` entry), also when A and B have different channel counts, and
returns float tensors ``(C, H, W)`` in [-1, 1].

Modes (``load_size`` L, ``crop_size`` S, ``size_multiple`` m):

=====================  ====================================  =========================================
mode                   train                                 eval (deterministic, never flipped)
=====================  ====================================  =========================================
resize_and_crop        resize to L x L, random S x S crop    resize to S x S
crop                   random S x S crop (reflect-pad small)  center S x S crop (reflect-pad small)
scale_width            width -> L, keep aspect (h >= S)      same as train
scale_width_and_crop   width -> L (h >= S), random S crop    width -> S (h >= S), center S crop
none                   (only the size-multiple rounding)     same as train
=====================  ====================================  =========================================

Eval follows the reference's test mode, which sets ``load_size = crop_size`` and ``no_flip``; the
reference still crops *randomly* at test time where a crop remains, here the crop is centred so that
evaluation is repeatable. Every mode ends by rounding H and W to the nearest multiple of ``size_multiple``
(at least one multiple) with a resize, like the reference's ``__make_power_2(base=4)``, so the output
always fits the generator.

Every resize, in training, evaluation and :class:`~i2i.infer.Translator`, is
:func:`~i2i.data.resize.resize`: PIL's
bicubic filter, which widens its kernel by the shrink factor (antialiasing) when downscaling. That is
the filter of the reference's ``transforms.Resize`` on PIL images, so the same file gives the same
pixels here, there, in training and at test time.
"""

from __future__ import annotations

from typing import Literal, get_args

import albumentations as A
import cv2
import numpy as np
from torch import Tensor

from i2i.data.io import to_tensor
from i2i.data.resize import hwc, make_multiple, resize, scale_width

__all__ = ["PREPROCESS_MODES", "PairedTransform", "Preprocess"]

Preprocess = Literal["resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none"]
PREPROCESS_MODES: tuple[str, ...] = get_args(Preprocess)


class PairedTransform:
    """Shared geometry for an (A, B) image pair, then conversion to [-1, 1] tensors.

    Args:
        preprocess: One of :data:`PREPROCESS_MODES` (see the module docstring).
        load_size: Resize target before cropping (train).
        crop_size: Crop size (train and eval).
        flip: Random horizontal flip with probability 0.5 (train only).
        train: Random crop / flip when True; deterministic eval geometry when False.
        size_multiple: Output H and W are rounded to a multiple of this (4 for ResNet generators,
            ``2**depth`` for U-Nets).

    Example:
        >>> import numpy as np
        >>> t = PairedTransform(preprocess="resize_and_crop", load_size=36, crop_size=32, flip=True, train=True)
        >>> a, b = t(np.zeros((50, 40, 3), np.uint8), np.zeros((50, 40, 1), np.uint8), seed=0)
        >>> tuple(a.shape), tuple(b.shape), float(a.min())
        ((3, 32, 32), (1, 32, 32), -1.0)
    """

    def __init__(
        self,
        *,
        preprocess: Preprocess = "resize_and_crop",
        load_size: int = 286,
        crop_size: int = 256,
        flip: bool = True,
        train: bool = True,
        size_multiple: int = 4,
    ) -> None:
        if preprocess not in PREPROCESS_MODES:
            raise ValueError(f"preprocess must be one of {', '.join(PREPROCESS_MODES)}, got {preprocess!r}")
        if min(load_size, crop_size, size_multiple) < 1:
            raise ValueError("load_size, crop_size and size_multiple must be positive")
        if train and preprocess in ("resize_and_crop", "scale_width_and_crop") and load_size < crop_size:
            raise ValueError(f"{preprocess}: load_size ({load_size}) must be >= crop_size ({crop_size})")
        self.preprocess = preprocess
        self.load_size = load_size
        self.crop_size = crop_size
        self.flip = flip and train
        self.train = train
        self.size_multiple = size_multiple
        self._random = A.Compose(
            self._random_part(), additional_targets={"image_b": "image"}, seed=0, is_check_shapes=True
        )

    def _random_part(self) -> list[A.BasicTransform]:
        size = self.crop_size
        parts: list[A.BasicTransform] = []
        if self.preprocess == "resize_and_crop" and self.train:  # the resize is deterministic, see below
            parts.append(A.RandomCrop(size, size))
        elif self.preprocess in ("crop", "scale_width_and_crop"):
            crop = A.RandomCrop if self.train else A.CenterCrop
            parts.append(crop(size, size, pad_if_needed=True, border_mode=cv2.BORDER_REFLECT_101))
        if self.flip:
            parts.append(A.HorizontalFlip(p=0.5))
        return parts

    def _deterministic_resize(self, image: np.ndarray) -> np.ndarray:
        if self.preprocess == "resize_and_crop":
            side = self.load_size if self.train else self.crop_size
            return resize(image, side, side)
        if self.preprocess == "scale_width":
            return scale_width(image, self.load_size, self.crop_size)
        if self.preprocess == "scale_width_and_crop":
            width = self.load_size if self.train else self.crop_size
            return scale_width(image, width, self.crop_size)
        return image

    def __call__(
        self, a: np.ndarray, b: np.ndarray | None = None, *, seed: int = 0
    ) -> tuple[Tensor, Tensor | None]:
        """Transform ``a`` (and ``b`` with the same random draw) into [-1, 1] tensors.

        Args:
            a: ``uint8`` ``(H, W, C_a)``.
            b: ``uint8`` ``(H, W, C_b)`` with the same H and W as ``a``, or ``None``.
            seed: Seed of this call's random crop / flip (datasets derive it from seed, epoch, index).

        Returns:
            ``(a, b)`` as float ``(C, H', W')`` tensors in [-1, 1]; ``b`` is ``None`` when not given.
        """
        if b is not None and a.shape[:2] != b.shape[:2]:
            raise ValueError(f"A and B must have the same size, got {a.shape[:2]} and {b.shape[:2]}")
        a = hwc(self._deterministic_resize(hwc(a)))
        targets = {"image": a}
        if b is not None:
            targets["image_b"] = hwc(self._deterministic_resize(hwc(b)))
        self._random.set_random_seed(seed)
        out = self._random(**targets)
        a_out = to_tensor(hwc(make_multiple(hwc(out["image"]), self.size_multiple)))
        if b is None:
            return a_out, None
        b_out = to_tensor(hwc(make_multiple(hwc(out["image_b"]), self.size_multiple)))
        return a_out, b_out
