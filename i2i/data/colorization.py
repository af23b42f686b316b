"""Colorization data: any RGB images as pairs of Lab lightness (input) and colour (target).

As in the reference's ``colorization`` dataset mode, every image is read as RGB, prepared (resize, crop,
flip) like any other, converted to CIE Lab and split into ``a = L / 50 - 1`` (1 channel, [-1, 1]) and
``b = (a, b) / 110`` (2 channels, about [-1, 1]); see :mod:`i2i.nn.color`. No target images are needed:
any folder of colour photos trains a colorizer.
"""

from __future__ import annotations

from torch import Tensor
from torch.utils.data import Dataset

from i2i.nn.color import rgb_to_lab_image

__all__ = ["LabPairs"]


class LabPairs(Dataset[dict[str, object]]):
    """Items ``{"a": L, "b": ab, "a_path", "b_path"}`` from a dataset of RGB images.

    Args:
        images: A dataset whose items hold an RGB image ``(3, H, W)`` in [-1, 1] under ``key``.
        key: Which image of the items to use (``"a"`` for a folder, ``"b"`` for the rendered scenes of
            the synthetic pairs).

    Shape:
        - ``a``: :math:`(1, H, W)`, ``L / 50 - 1`` in [-1, 1].
        - ``b``: :math:`(2, H, W)`, ``(a, b) / 110``.
    """

    def __init__(self, images: Dataset[dict[str, object]], key: str = "a") -> None:
        self.images = images
        self.key = key

    def __len__(self) -> int:
        return len(self.images)  # type: ignore[arg-type]

    def set_epoch(self, epoch: int) -> None:
        """Forwarded to the image dataset (its crops and flips follow the epoch)."""
        set_epoch = getattr(self.images, "set_epoch", None)
        if set_epoch is not None:
            set_epoch(epoch)

    def __getitem__(self, index: int) -> dict[str, object]:
        item = self.images[index]
        image = item[self.key]
        assert isinstance(image, Tensor) and image.shape[0] == 3, "LabPairs needs RGB images"
        light, colour = rgb_to_lab_image(image)
        path = str(item.get(f"{self.key}_path", ""))
        return {"a": light, "b": colour, "a_path": path, "b_path": path}

    def evaluation_view(self) -> Dataset[dict[str, object]]:
        """What a colorizer is scored on: items ``{"a": photo, "b": photo}``, the RGB image ``(3, H, W)``
        in [-1, 1] as input (the saved model keeps only its lightness) and as target."""
        return _Photos(self.images, self.key)


class _Photos(Dataset[dict[str, object]]):
    """The RGB images under LabPairs, each as its own input and target (see :meth:`LabPairs.evaluation_view`)."""

    def __init__(self, images: Dataset[dict[str, object]], key: str) -> None:
        self.images = images
        self.key = key

    def __len__(self) -> int:
        return len(self.images)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> dict[str, object]:
        item = self.images[index]
        path = str(item.get(f"{self.key}_path", ""))
        return {"a": item[self.key], "b": item[self.key], "a_path": path, "b_path": path}
