"""Labelled datasets for the conditional methods: images with a class or domain index.

Items are ``{"a": (C, H, W) float in [-1, 1], "label": int, "a_path": str}``. Layouts:

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
from i2i.data.digits import DIGIT_CLASSES, DigitsDataset
from i2i.data.io import convert_channels, read_image, to_tensor
from i2i.data.synthetic_domains import SYNTHETIC_DOMAINS, synthetic_domain_sample
from i2i.data.transforms import Preprocess

__all__ = [
    "FASHION_MNIST_CLASSES",
    "LABELLED_LAYOUTS",
    "DomainFolderDataset",
    "SyntheticDomainsDataset",
    "TorchvisionLabelled",
    "build_labelled_dataset",
    "layout_classes",
]

logger = logging.getLogger("i2i.data")

LABELLED_LAYOUTS: tuple[str, ...] = ("digits", "mnist", "fashion_mnist", "domains", "synthetic_domains")
"""Layouts whose items carry a ``"label"`` (class or domain index) instead of a ``"b"`` image."""

FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot",
)  # fmt: skip


def layout_classes(layout: str, domains: Sequence[str] | None = None) -> list[str]:
    """The class / domain names of a labelled layout, in label order.

    ``domains`` names the folders of the ``domains`` layout (required there) and selects a subset of
    the built-in ``synthetic_domains``; the other layouts have fixed classes.

    Example:
        >>> layout_classes("fashion_mnist")[:3], layout_classes("synthetic_domains")
        (['t-shirt', 'trouser', 'pullover'], ['red', 'green', 'blue'])
    """
    if layout in ("digits", "mnist"):
        return list(DIGIT_CLASSES)
    if layout == "fashion_mnist":
        return list(FASHION_MNIST_CLASSES)
    if layout == "synthetic_domains":
        names = list(domains) if domains else list(SYNTHETIC_DOMAINS)
        unknown = [d for d in names if d not in SYNTHETIC_DOMAINS]
        if unknown:
            raise ValueError(f"unknown synthetic domains {unknown} (known: {', '.join(SYNTHETIC_DOMAINS)})")
        return names
    if layout == "domains":
        if not domains or len(domains) < 2:
            raise ValueError("the domains layout needs the domain (folder) names: data.domains, at least two")
        return list(domains)
    raise ValueError(f"unknown labelled layout {layout!r}; expected one of {', '.join(LABELLED_LAYOUTS)}")


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
    and replaced by the next readable file of the same domain.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        *,
        domains: Sequence[str],
        train: bool = True,
        load_size: int = 286,
        crop_size: int = 256,
        preprocess: Preprocess = "resize_and_crop",
        flip: bool = True,
        channels: int = 3,
        max_images: int | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(
            train=train, direction="a2b", load_size=load_size, crop_size=crop_size, preprocess=preprocess,
            flip=flip, in_channels=channels, out_channels=channels, seed=seed, max_images=max_images,
        )  # fmt: skip
        root = Path(root)
        self.domains = list(domains)
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
    """``count`` built-in scenes, item ``i`` painted for domain ``i % D`` (see :mod:`i2i.data.synthetic_domains`)."""

    def __init__(
        self,
        count: int,
        size: int = 64,
        *,
        domains: Sequence[str] = SYNTHETIC_DOMAINS,
        split: str = "train",
        seed: int = 0,
        train: bool = True,
        load_size: int | None = None,
        crop_size: int | None = None,
        preprocess: Preprocess = "none",
        flip: bool = True,
        channels: int = 3,
    ) -> None:
        super().__init__(
            train=train, direction="a2b", load_size=load_size or size, crop_size=crop_size or size,
            preprocess=preprocess, flip=flip, in_channels=channels, out_channels=channels, seed=seed,
        )  # fmt: skip
        if count < 1 or size < 8:
            raise ValueError(f"need count >= 1 and size >= 8, got count={count}, size={size}")
        self.domains = layout_classes("synthetic_domains", domains)
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


def build_labelled_dataset(
    layout: str,
    root: str | Path,
    split: str = "train",
    *,
    train: bool = True,
    domains: Sequence[str] | None = None,
    load_size: int = 286,
    crop_size: int = 256,
    preprocess: Preprocess = "resize_and_crop",
    flip: bool = True,
    channels: int = 3,
    max_images: int | None = None,
    synthetic_size: int = 64,
    synthetic_count: int = 256,
    seed: int = 0,
) -> Dataset[dict[str, object]]:
    """Build the labelled dataset for ``layout`` (one of :data:`LABELLED_LAYOUTS`); see the module.

    Synthetic layouts ignore ``root`` and hold ``synthetic_count`` images (capped by ``max_images``).
    """
    count = min(synthetic_count, max_images) if max_images is not None else synthetic_count
    if layout == "digits":
        return DigitsDataset(count, crop_size, split=split, seed=seed, channels=channels)
    if layout in ("mnist", "fashion_mnist"):
        return TorchvisionLabelled(
            layout, root, split, size=crop_size, channels=channels, max_images=max_images
        )
    common: dict[str, Any] = {
        "train": train, "load_size": load_size, "crop_size": crop_size, "preprocess": preprocess, "flip": flip,
        "channels": channels, "seed": seed,
    }  # fmt: skip
    if layout == "synthetic_domains":
        return SyntheticDomainsDataset(
            count, synthetic_size, domains=layout_classes(layout, domains), split=split, **common
        )
    if layout == "domains":
        return DomainFolderDataset(
            root, split, domains=layout_classes(layout, domains), max_images=max_images, **common
        )
    raise ValueError(f"unknown labelled layout {layout!r}; expected one of {', '.join(LABELLED_LAYOUTS)}")
