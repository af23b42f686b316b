"""Datasets on disk, in the layouts of the published pix2pix / CycleGAN data.

Each takes its image preparation as one :class:`i2i.data.geometry.Geometry`. The layout names a recipe
uses, and :func:`i2i.data.layouts.build_dataset`, their one front door, live in :mod:`i2i.data.layouts`.

Every item is a dict ``{"a": (C_a, H, W), "b": (C_b, H, W), "a_path": str, "b_path": str}`` with float
tensors in [-1, 1]; ``"a"`` is the generator's input (``in_channels``), ``"b"`` its target
(``out_channels``). The geometry's ``direction="b2a"`` swaps the roles of the sides before anything else.

Folders (``ROOT`` is the dataset folder, ``SPLIT`` e.g. ``train`` / ``test``), by layout name:

* aligned: ``ROOT/SPLIT/*.jpg``, each file A | B side by side (pix2pix's facades, maps, edges2shoes...).
* paired: ``ROOT/SPLIT/A`` and ``ROOT/SPLIT/B``, or the reference's ``ROOT/A/SPLIT`` and
  ``ROOT/B/SPLIT``, files matched by their path relative to the folder without suffix. Plain ``ROOT/A``
  and ``ROOT/B`` have no splits: every split is all of them, with a warning saying so.
* unaligned: ``ROOT/SPLITA`` and ``ROOT/SPLITB`` (CycleGAN's trainA, trainB, testA, testB).
* single: one folder of images (inference), items ``{"a", "a_path"}``.

Unreadable files (corrupt, truncated, empty) are logged once per dataset object (per worker process)
as a warning on the ``i2i.data`` logger and replaced by the next readable file (in index order,
wrapping around), so a few bad files do not stop a long run; a dataset with no readable file raises.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from i2i.data._base import I2IDataset
from i2i.data.geometry import Geometry
from i2i.data.io import ImageReadError, convert_channels, list_images, read_image

__all__ = ["AlignedDataset", "PairedFolderDataset", "SingleFolderDataset", "UnalignedDataset"]

logger = logging.getLogger("i2i.data")

T = TypeVar("T")


class _FileDataset(I2IDataset):
    """Adds reading with skip-and-warn of unreadable files to :class:`I2IDataset`."""

    def __init__(self, geometry: Geometry, *, max_images: int | None) -> None:
        super().__init__(geometry)
        if max_images is not None and max_images < 1:
            raise ValueError(f"max_images must be positive or None, got {max_images}")
        self.max_images = max_images
        self._reported: set[str] = set()

    def _limit(self, paths: list[Path]) -> list[Path]:
        return paths[: self.max_images] if self.max_images is not None else paths

    def _first_readable(self, index: int, count: int, load: Callable[[int], T], folder: Path) -> T:
        """``load(i)`` for the first i = index, index + 1, ... (mod count) whose files all decode."""
        for step in range(count):
            i = (index + step) % count
            try:
                return load(i)
            except ImageReadError as err:
                key = str(err.path)
                if key not in self._reported:
                    self._reported.add(key)
                    logger.warning("skipping unreadable image: %s", err)
        raise RuntimeError(f"no readable images in {str(folder)!r} ({count} files, all unreadable)")


def _require_images(folder: Path, what: str) -> list[Path]:
    if not folder.is_dir():
        raise FileNotFoundError(f"{what}: folder {str(folder)!r} does not exist")
    paths = list_images(folder)
    if not paths:
        raise FileNotFoundError(f"{what}: no images in {str(folder)!r}")
    return paths


class AlignedDataset(_FileDataset):
    """pix2pix's aligned layout: ``ROOT/SPLIT/*``, each image A | B side by side.

    The left half is A and the right half is B (each ``W // 2`` wide); ``b2a`` swaps them. Both items'
    paths are the combined file's path, as in the reference.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        geometry: Geometry = Geometry(),
        *,
        max_images: int | None = None,
    ) -> None:
        super().__init__(geometry, max_images=max_images)
        self.folder = Path(root) / split
        self.paths = self._limit(_require_images(self.folder, "aligned dataset"))

    def __len__(self) -> int:
        return len(self.paths)

    def _load(self, index: int) -> tuple[np.ndarray, np.ndarray, Path]:
        path = self.paths[index]
        image = read_image(path)
        half = image.shape[1] // 2
        if half == 0:
            raise ImageReadError(path, "too narrow to split into A | B halves")
        left, right = image[:, :half], image[:, half : 2 * half]
        if self.direction == "b2a":
            left, right = right, left
        return convert_channels(left, self.in_channels), convert_channels(right, self.out_channels), path

    def __getitem__(self, index: int) -> dict[str, object]:
        a, b, path = self._first_readable(index, len(self), self._load, self.folder)
        real_a, real_b = self.transform(a, b, seed=self.augment_seed(index))
        return {"a": real_a, "b": real_b, "a_path": str(path), "b_path": str(path)}


class PairedFolderDataset(_FileDataset):
    """Two folders of matching files: ``ROOT/SPLIT/{A,B}``, the reference's ``ROOT/{A,B}/SPLIT`` or,
    without split folders, ``ROOT/{A,B}`` (then every split is every pair, and a warning says so; a
    folder with other splits but not ``split`` is an error, never a silent fallback).

    Files pair up by their path relative to ``A`` / ``B`` without suffix (``A/x/1.png`` with
    ``B/x/1.jpg``); files without a partner are logged and left out.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        geometry: Geometry = Geometry(),
        *,
        max_images: int | None = None,
    ) -> None:
        super().__init__(geometry, max_images=max_images)
        folder_a, folder_b, self.has_splits = _paired_folders(Path(root), split)
        if not self.has_splits:
            logger.warning(
                "paired dataset %s: no split folders (%s/A or A/%s), so split %r is every pair in A and "
                "B: training and testing read the same images",
                root,
                split,
                split,
                split,
            )
        self.folder = folder_a.parent
        side_a, side_b = (folder_a, folder_b) if self.direction == "a2b" else (folder_b, folder_a)
        by_key_a = _by_key(_require_images(side_a, "paired dataset"), side_a)
        by_key_b = _by_key(_require_images(side_b, "paired dataset"), side_b)
        keys = sorted(by_key_a.keys() & by_key_b.keys())
        unmatched = len(by_key_a) + len(by_key_b) - 2 * len(keys)
        if not keys:
            raise FileNotFoundError(f"paired dataset: no file names in {str(side_a)!r} match {str(side_b)!r}")
        if unmatched:
            logger.warning(
                "paired dataset %s: %d files without a partner are ignored", self.folder, unmatched
            )
        self.pairs = self._limit_pairs([(by_key_a[k], by_key_b[k]) for k in keys])

    def _limit_pairs(self, pairs: list[tuple[Path, Path]]) -> list[tuple[Path, Path]]:
        return pairs[: self.max_images] if self.max_images is not None else pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def _load(self, index: int) -> tuple[np.ndarray, np.ndarray, Path, Path]:
        path_a, path_b = self.pairs[index]
        return read_image(path_a, self.in_channels), read_image(path_b, self.out_channels), path_a, path_b

    def __getitem__(self, index: int) -> dict[str, object]:
        a, b, path_a, path_b = self._first_readable(index, len(self), self._load, self.folder)
        if a.shape[:2] != b.shape[:2]:
            raise ValueError(
                f"paired images differ in size: {path_a} {a.shape[:2]} vs {path_b} {b.shape[:2]}"
            )
        real_a, real_b = self.transform(a, b, seed=self.augment_seed(index))
        return {"a": real_a, "b": real_b, "a_path": str(path_a), "b_path": str(path_b)}


class UnalignedDataset(_FileDataset):
    """CycleGAN's layout: ``ROOT/SPLITA`` and ``ROOT/SPLITB`` with unrelated images.

    Length is ``max(len(A), len(B))`` as in the reference; item ``i`` takes A image ``i % len(A)``
    and, in training, a B image drawn at random from ``(seed, epoch, i)`` (see :meth:`set_epoch`);
    in eval mode B image ``i % len(B)``. Each side gets its own crop / flip.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        geometry: Geometry = Geometry(),
        *,
        max_images: int | None = None,
    ) -> None:
        super().__init__(geometry, max_images=max_images)
        root = Path(root)
        folder_a, folder_b = root / f"{split}A", root / f"{split}B"
        if self.direction == "b2a":
            folder_a, folder_b = folder_b, folder_a
        self.folder_a, self.folder_b = folder_a, folder_b
        self.paths_a = self._limit(_require_images(folder_a, "unaligned dataset"))
        self.paths_b = self._limit(_require_images(folder_b, "unaligned dataset"))

    def __len__(self) -> int:
        return max(len(self.paths_a), len(self.paths_b))

    def partner_index(self, index: int) -> int:
        """The B image paired with item ``index`` in the current epoch."""
        if not self.train:
            return index % len(self.paths_b)
        return int(self.partner_rng(index).integers(len(self.paths_b)))

    def __getitem__(self, index: int) -> dict[str, object]:
        def load_a(i: int) -> tuple[np.ndarray, Path]:
            return read_image(self.paths_a[i], self.in_channels), self.paths_a[i]

        def load_b(i: int) -> tuple[np.ndarray, Path]:
            return read_image(self.paths_b[i], self.out_channels), self.paths_b[i]

        a, path_a = self._first_readable(index % len(self.paths_a), len(self.paths_a), load_a, self.folder_a)
        b, path_b = self._first_readable(self.partner_index(index), len(self.paths_b), load_b, self.folder_b)
        seed = self.augment_seed(index)
        real_a, _ = self.transform(a, seed=seed)
        real_b, _ = self.transform(b, seed=seed + 1)
        return {"a": real_a, "b": real_b, "a_path": str(path_a), "b_path": str(path_b)}


class SingleFolderDataset(_FileDataset):
    """All images under one folder (recursively), for translation: items ``{"a", "a_path"}``.

    The default geometry is eval with ``preprocess="none"``: images keep their size up to the rounding
    to ``size_multiple``. Images have the geometry's ``in_channels``; its direction is ignored.
    """

    def __init__(
        self,
        root: str | Path,
        geometry: Geometry = Geometry(train=False, load_size=256, preprocess="none", flip=False),
        *,
        max_images: int | None = None,
    ) -> None:
        super().__init__(geometry.one_sided(), max_images=max_images)
        self.folder = Path(root)
        self.paths = self._limit(_require_images(self.folder, "image folder"))

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict[str, object]:
        def load(i: int) -> tuple[np.ndarray, Path]:
            return read_image(self.paths[i], self.in_channels), self.paths[i]

        a, path = self._first_readable(index, len(self), load, self.folder)
        real_a, _ = self.transform(a, seed=self.augment_seed(index))
        return {"a": real_a, "a_path": str(path)}


SPLIT_NAMES: tuple[str, ...] = ("train", "test", "val", "valid", "validation")
"""Folder names taken for splits when looking for the one a paired dataset asks for."""


def _paired_folders(root: Path, split: str) -> tuple[Path, Path, bool]:
    """``(A folder, B folder, has splits)`` of a paired dataset: ``ROOT/SPLIT/{A,B}``, the reference's
    ``ROOT/{A,B}/SPLIT``, or ``ROOT/{A,B}`` without splits; other splits but not ``split`` is an error."""
    for base_a, base_b in (
        (root / split / "A", root / split / "B"),
        (root / "A" / split, root / "B" / split),
    ):
        if base_a.is_dir() or base_b.is_dir():
            return base_a, base_b, True
    flat_a, flat_b = root / "A", root / "B"
    found = {p.parent.name for p in root.glob("*/A") if p.is_dir()} | {
        p.name for side in (flat_a, flat_b) if side.is_dir() for p in side.iterdir() if p.is_dir()
    }
    splits = sorted(found & set(SPLIT_NAMES))
    if splits:
        raise FileNotFoundError(
            f"paired dataset: no split {split!r} in {str(root)!r} (it has {', '.join(splits)}; expected "
            f"{split}/A + {split}/B or A/{split} + B/{split})"
        )
    if not (flat_a.is_dir() and flat_b.is_dir()):
        raise FileNotFoundError(
            f"paired dataset: expected folders A and B in {str(root / split)!r}, in {str(root)!r} as "
            f"A/{split} + B/{split}, or in {str(root)!r}"
        )
    return flat_a, flat_b, False


def _by_key(paths: Sequence[Path], folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in paths:
        key = path.relative_to(folder).with_suffix("").as_posix()
        if key in found:
            raise ValueError(
                f"two files with the same name in {str(folder)!r}: {found[key].name}, {path.name}"
            )
        found[key] = path
    return found
