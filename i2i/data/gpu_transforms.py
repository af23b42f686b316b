"""Random crop, horizontal flip and colour jitter of whole batches on their device (kornia).

With ``data.augment_on: device`` the data workers only decode and resize (to ``load_size``, rounded to a
multiple of 4); :class:`BatchAugment` then draws the random part for the whole batch at once and applies
it where the batch already is, so a GPU is not starved by per-image augmentation on a few CPU cores.

Random parameters are drawn on the CPU from a ``torch.Generator`` seeded per call (the trainer seeds it
from ``(seed, epoch, batch position, rank)``), so a batch's augmentation is the same on any device, any
number of data workers and after a resume. Paired data (pix2pix) gives A and B *the same* crop, flip and
colour change, also when they have different channel counts; unpaired data draws each side on its own.

Colour jitter of strength ``j`` follows torchvision's ``ColorJitter(j, j, j, j / 2)`` in a fixed order:
brightness ``x * f`` and contrast (blend with the mean grey level) with ``f ~ U[1 - j, 1 + j]``,
saturation (blend with greyscale, RGB only) with ``f ~ U[1 - j, 1 + j]`` and hue rotated by
``U[-j / 2, j / 2]`` turns (RGB only). Images stay in [-1, 1]; the alpha channel of RGBA is untouched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from kornia.enhance import adjust_contrast_with_mean_subtraction, adjust_hue, adjust_saturation
from kornia.geometry.bbox import bbox_generator
from kornia.geometry.transform import crop_by_indices, hflip
from torch import Tensor

__all__ = ["AugmentParams", "BatchAugment", "apply_params", "draw_params"]


@dataclass(frozen=True)
class AugmentParams:
    """The random draws of one batch, all ``(B,)`` CPU tensors.

    Attributes:
        top: Crop row offset of each image (``int64``).
        left: Crop column offset of each image (``int64``).
        flip: Whether each image is flipped horizontally.
        brightness: Brightness factor of each image, or None without colour jitter.
        contrast: Contrast factor, or None.
        saturation: Saturation factor, or None.
        hue: Hue rotation in radians, or None.
    """

    top: Tensor
    left: Tensor
    flip: Tensor
    brightness: Tensor | None = None
    contrast: Tensor | None = None
    saturation: Tensor | None = None
    hue: Tensor | None = None


def draw_params(
    batch_size: int,
    height: int,
    width: int,
    *,
    crop_size: int | None,
    flip: bool,
    color_jitter: float,
    generator: torch.Generator,
) -> AugmentParams:
    """Draw the crop offsets, flips and colour factors of a batch from ``generator`` (on the CPU).

    Args:
        batch_size: Images in the batch.
        height: Image height before the crop.
        width: Image width before the crop.
        crop_size: Side of the square crop; None keeps the whole image.
        flip: Flip each image with probability 0.5.
        color_jitter: Jitter strength ``j`` in [0, 1] (see the module); 0 disables it.
        generator: CPU generator the draws come from.

    Returns:
        The :class:`AugmentParams` of the batch.
    """
    size = (height, width) if crop_size is None else (crop_size, crop_size)
    if size[0] > height or size[1] > width:
        raise ValueError(f"crop_size {crop_size} is larger than the images ({height} x {width})")
    top = torch.randint(0, height - size[0] + 1, (batch_size,), generator=generator)
    left = torch.randint(0, width - size[1] + 1, (batch_size,), generator=generator)
    flips = torch.rand(batch_size, generator=generator) < 0.5
    if not flip:
        flips = torch.zeros_like(flips)
    if color_jitter <= 0:
        return AugmentParams(top=top, left=left, flip=flips)

    def uniform(low: float, high: float) -> Tensor:
        return low + (high - low) * torch.rand(batch_size, generator=generator)

    j = color_jitter
    return AugmentParams(
        top=top,
        left=left,
        flip=flips,
        brightness=uniform(1 - j, 1 + j),
        contrast=uniform(1 - j, 1 + j),
        saturation=uniform(1 - j, 1 + j),
        hue=uniform(-j / 2, j / 2) * 2 * math.pi,
    )


def apply_params(images: Tensor, params: AugmentParams, *, crop_size: int | None) -> Tensor:
    """Apply ``params`` to a batch on its own device.

    Args:
        images: ``(B, C, H, W)`` in [-1, 1], C in {1, 3, 4}.
        params: Draws of :func:`draw_params` for this batch size and image size.
        crop_size: The crop side the params were drawn for (None: no crop).

    Returns:
        ``(B, C, S, S)`` (or ``(B, C, H, W)`` without a crop) in [-1, 1].

    Shape:
        - images: :math:`(B, C, H, W)`
        - output: :math:`(B, C, S, S)`

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.rand(2, 3, 10, 10) * 2 - 1
        >>> p = draw_params(2, 10, 10, crop_size=8, flip=True, color_jitter=0.2, generator=g)
        >>> tuple(apply_params(x, p, crop_size=8).shape)
        (2, 3, 8, 8)
    """
    if images.ndim != 4:
        raise ValueError(f"expected images of shape (B, C, H, W), got {tuple(images.shape)}")
    batch, _, height, width = images.shape
    if params.top.shape != (batch,):
        raise ValueError(f"params are for {params.top.shape[0]} images, the batch has {batch}")
    device = images.device
    if crop_size is not None and (crop_size, crop_size) != (height, width):
        one = torch.ones_like(params.left)
        boxes = bbox_generator(params.left, params.top, one * crop_size, one * crop_size)  # (B, 4, 2)
        images = crop_by_indices(images, boxes.to(device), size=(crop_size, crop_size))
    flip = params.flip.to(device, non_blocking=True)[:, None, None, None]
    images = torch.where(flip, hflip(images), images)
    if params.brightness is None:
        return images
    return _jitter_colour(images, params)


def _jitter_colour(images: Tensor, params: AugmentParams) -> Tensor:
    assert params.brightness is not None and params.contrast is not None
    device, dtype = images.device, images.dtype

    def factor(values: Tensor | None) -> Tensor:
        assert values is not None
        return values.to(device=device, dtype=dtype, non_blocking=True)

    channels = images.shape[1]
    colour, alpha = (images[:, :3], images[:, 3:]) if channels == 4 else (images, images[:, :0])
    x = (colour + 1) / 2  # [0, 1] for kornia
    x = (x * factor(params.brightness)[:, None, None, None]).clamp(0, 1)
    x = adjust_contrast_with_mean_subtraction(x, factor(params.contrast))
    if x.shape[1] == 3:
        x = adjust_saturation(x, factor(params.saturation))
        x = adjust_hue(x, factor(params.hue))
    out = x.clamp(0, 1) * 2 - 1
    return torch.cat([out, alpha], dim=1) if channels == 4 else out


class BatchAugment:
    """The random part of the recipe's preprocessing, applied to whole batches on their device.

    Args:
        crop_size: Side of the random square crop; None for no crop (preprocess ``none``).
        flip: Random horizontal flips.
        color_jitter: Colour jitter strength (see the module); 0 disables it.
        paired: Give A and B the same draws (paired data); otherwise each side draws its own.

    Example:
        >>> augment = BatchAugment(crop_size=8, flip=True, paired=True)
        >>> a, b = torch.rand(2, 3, 12, 12), torch.rand(2, 1, 12, 12)
        >>> out_a, out_b = augment(a, b, seed=0)
        >>> tuple(out_a.shape), tuple(out_b.shape)
        ((2, 3, 8, 8), (2, 1, 8, 8))
    """

    def __init__(
        self, *, crop_size: int | None, flip: bool, color_jitter: float = 0.0, paired: bool = True
    ) -> None:
        if not 0.0 <= color_jitter <= 1.0:
            raise ValueError(f"color_jitter must be in [0, 1], got {color_jitter}")
        self.crop_size = crop_size
        self.flip = flip
        self.color_jitter = color_jitter
        self.paired = paired

    def draw(self, images: Tensor, generator: torch.Generator) -> AugmentParams:
        """Draw the params for a batch shaped like ``images`` from ``generator``."""
        batch, _, height, width = images.shape
        return draw_params(
            batch,
            height,
            width,
            crop_size=self.crop_size,
            flip=self.flip,
            color_jitter=self.color_jitter,
            generator=generator,
        )

    def __call__(self, a: Tensor, b: Tensor, *, seed: int) -> tuple[Tensor, Tensor]:
        """Augment the batches ``a`` ``(B, C_a, H, W)`` and ``b`` ``(B, C_b, H, W)``, both in [-1, 1].

        ``seed`` fixes every draw: the same seed gives the same result on any device.
        """
        if a.shape[0] != b.shape[0]:
            raise ValueError(f"a and b hold {a.shape[0]} and {b.shape[0]} images")
        generator = torch.Generator().manual_seed(seed)
        params_a = self.draw(a, generator)
        if self.paired:
            if a.shape[-2:] != b.shape[-2:]:
                raise ValueError(f"paired images differ in size: {tuple(a.shape)} and {tuple(b.shape)}")
            params_b = params_a
        else:
            params_b = self.draw(b, generator)
        return (
            apply_params(a, params_a, crop_size=self.crop_size),
            apply_params(b, params_b, crop_size=self.crop_size),
        )
