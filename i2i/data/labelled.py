"""Labelled datasets for the conditional methods: images with a class or domain index.

Items are ``{"a": (C, H, W) float in [-1, 1], "label": int, "a_path": str}``. The layouts (registered
in :mod:`i2i.data.layouts`, which also resolves their class names):

* ``digits``: the built-in rendered digits (:mod:`i2i.data.digits`), rendered at ``crop_size``.
* ``mnist``, ``fashion_mnist``: torchvision's ``MNIST`` / ``FashionMNIST`` under ``root``, downloaded
  there when missing; the 28 px images are padded to 32 (the LeNet-5 convention) or resized to
  ``crop_size``.
* ``domains``: one folder per domain, ``ROOT/SPLIT/<domain>/*`` (recursively); for two domains the
  CycleGAN layout ``ROOT/SPLITA`` and ``ROOT/SPLITB`` is read as well (first domain = A).
* ``synthetic_domains``: the built-in red / green / blue shapes (:mod:`i2i.data.synthetic_domains`).

Folder and synthetic domain images go through the usual preprocessing (resize, crop, flip).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from i2i.data._base import I2IDataset
from i2i.data.datasets import _FileDataset, _require_images
from i2i.data.geometry import Geometry
from i2i.data.io import convert_channels, read_image, to_tensor
from i2i.data.synthetic import synthetic_geometry
from i2i.data.synthetic_domains import SYNTHETIC_DOMAINS, synthetic_domain_names, synthetic_domain_sample

__all__ = [
    "FASHION_MNIST_CLASSES",
    "DomainFolderDataset",
    "SyntheticDomainsDataset",
    "TorchvisionLabelled",
    "folder_domain_names",
]

logger = logging.getLogger("i2i.data")

FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot",
)  # fmt: skip


def folder_domain_names(domains: Sequence[str] | None) -> list[str]:
    """The domain (folder) names of the ``domains`` layout, in label order: at least two are needed.

    Example:
        >>> folder_domain_names(("horse", "zebra"))
        ['horse', 'zebra']
    """
    if not domains or len(domains) < 2:
        raise ValueError("the domains layout needs the domain (folder) names: data.domains, at least two")
    return list(domains)


class TorchvisionLabelled(Dataset[dict[str, object]]):
    """torchvision's ``MNIST`` or ``FashionMNIST`` as labelled items of ``size`` pixels.

    The files are looked for under ``root`` (torchvision's layout, ``ROOT/MNIST/raw/...``) and
    downloaded there when missing; without a network, put the four ``*-ubyte`` files there by hand.

    Args:
        name: ``"mnist"`` or ``"fashion_mnist"``.
        root: Folder holding (or receiving) the dataset.
        split: ``"train"``, or anything else for the 10,000 test images.
        size: Output size: 28 as stored, 32 padded with background (LeNet-5), others resized.
        channels: 1 or 3 (gray repeated).
        max_images: Use only the first images.
        download: Download when the files are missing.

    Raises:
        FileNotFoundError: The files are missing and could not be downloaded (the message says where
            to put them).
    """

    def __init__(
        self,
        name: str,
        root: str | Path,
        split: str = "train",
        *,
        size: int = 32,
        channels: int = 1,
        max_images: int | None = None,
        download: bool = True,
    ) -> None:
        from torchvision import datasets

        classes = {"mnist": datasets.MNIST, "fashion_mnist": datasets.FashionMNIST}
        if name not in classes:
            raise ValueError(f"unknown torchvision dataset {name!r} (known: {', '.join(classes)})")
        cls = classes[name]
        train = split == "train"
        try:
            self.data: Any = cls(str(root), train=train, download=False)
        except RuntimeError as missing:
            if not download:
                raise FileNotFoundError(f"{name}: not found in {root!s} ({missing})") from None
            try:
                self.data = cls(str(root), train=train, download=True)
            except Exception as error:  # urllib / http errors differ by platform; report all alike
                raise FileNotFoundError(
                    f"{name}: not found in {root!s} and the download failed ({error}); put the four "
                    f"*-ubyte(.gz) files in {Path(root) / cls.__name__ / 'raw'} and try again"
                ) from None
        self.images: np.ndarray = self.data.data.numpy()  # (N, 28, 28) uint8
        self.labels: list[int] = [int(y) for y in self.data.targets]
        if max_images is not None:
            self.images, self.labels = self.images[:max_images], self.labels[:max_images]
        self.name, self.split, self.size, self.channels = name, split, size, channels

    def __len__(self) -> int:
        return len(self.labels)

    def image(self, index: int) -> np.ndarray:
        """Image ``index`` as ``uint8`` ``(size, size, channels)``."""
        image = self.images[index]
        height = image.shape[0]
        if self.size == 32 and height == 28:
            image = np.pad(image, 2)
        elif self.size != height:
            shrink = self.size < height
            image = cv2.resize(
                image, (self.size, self.size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
            )
        return convert_channels(image[:, :, None], self.channels)

    def __getitem__(self, index: int) -> dict[str, object]:
        image: torch.Tensor = to_tensor(self.image(index))
        return {"a": image, "label": self.labels[index], "a_path": f"{self.name}://{self.split}/{index}"}


class DomainFolderDataset(_FileDataset):
    """One folder of images per domain; item ``i`` is one image and the index of its domain.

    Looks for ``ROOT/SPLIT/<domain>`` for every domain; with two domains and no such folders, for
    CycleGAN's ``ROOT/SPLITA`` and ``ROOT/SPLITB`` (``domains[0]`` = A). Unreadable files are logged
    and replaced by the next readable file of the same domain. Images have the geometry's
    ``in_channels``; its direction is ignored.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        geometry: Geometry = Geometry(),
        *,
        domains: Sequence[str],
        max_images: int | None = None,
    ) -> None:
        super().__init__(geometry.one_sided(), max_images=max_images)
        root = Path(root)
        self.domains = folder_domain_names(domains)
        folders = [root / split / d for d in self.domains]
        if not all(f.is_dir() for f in folders) and len(self.domains) == 2:
            cyclegan = [root / f"{split}A", root / f"{split}B"]
            if all(f.is_dir() for f in cyclegan):
                folders = cyclegan
        missing = [str(f) for f in folders if not f.is_dir()]
        if missing:
            hint = f" (or {split}A and {split}B for two domains)" if len(self.domains) == 2 else ""
            raise FileNotFoundError(f"domains dataset: missing folders {', '.join(missing)}{hint}")
        self.folders = folders
        self.by_domain = [self._limit(_require_images(f, "domains dataset")) for f in folders]
        self.items = [(label, i) for label, paths in enumerate(self.by_domain) for i in range(len(paths))]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, object]:
        label, position = self.items[index]
        paths = self.by_domain[label]

        def load(i: int) -> tuple[np.ndarray, Path]:
            return read_image(paths[i], self.in_channels), paths[i]

        image, path = self._first_readable(position, len(paths), load, self.folders[label])
        real, _ = self.transform(image, seed=self.augment_seed(index))
        return {"a": real, "label": label, "a_path": str(path)}


class SyntheticDomainsDataset(I2IDataset):
    """``count`` built-in scenes, item ``i`` painted for domain ``i % D`` (see :mod:`i2i.data.synthetic_domains`).

    The default geometry is :func:`i2i.data.synthetic.synthetic_geometry`; images have its
    ``in_channels`` and its direction is ignored.
    """

    def __init__(
        self,
        count: int,
        size: int = 64,
        geometry: Geometry | None = None,
        *,
        domains: Sequence[str] = SYNTHETIC_DOMAINS,
        split: str = "train",
    ) -> None:
        super().__init__((geometry or synthetic_geometry(size)).one_sided())
        if count < 1 or size < 8:
            raise ValueError(f"need count >= 1 and size >= 8, got count={count}, size={size}")
        self.domains = synthetic_domain_names(domains)
        self.count, self.size, self.split = count, size, split

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> dict[str, object]:
        if not 0 <= index < self.count:
            raise IndexError(index)
        label = index % len(self.domains)
        image = synthetic_domain_sample(
            self.domains[label], index, self.size, seed=self.seed, split=self.split
        )
        real, _ = self.transform(convert_channels(image, self.in_channels), seed=self.augment_seed(index))
        return {
            "a": real,
            "label": label,
            "a_path": f"synthetic://domains/{self.split}/{self.domains[label]}/{index}",
        }
