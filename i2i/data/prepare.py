"""Preparing image folders for training: combine two folders into A | B pairs, split a folder into
train / val / test.

* :func:`combine_folders` (``i2i data combine A B --out DIR``) does what the reference's
  ``combine_A_and_B.py`` does: for every split folder the two sides share (``A/train`` and
  ``B/train`` ...; or ``A`` and ``B`` themselves when they hold the images), files with the same name
  (path without suffix) become one image, A on the left and B on the right, in ``DIR/SPLIT``: the
  ``aligned`` layout. Names found on one side only are reported, never guessed. Pairs whose sides differ
  in size are skipped and reported (an aligned pair must be pixel-aligned, and a resize that the user
  did not ask for can hide a wrong pairing), unless ``resize=True`` scales B to A's size with the
  training pipeline's resize.
* :func:`split_folder` (``i2i data split DIR --out OUT --test 0.1``) assigns every image (or, for a
  folder with ``A`` and ``B`` sub-folders, every name: the two files of a pair stay together) to
  ``train``, ``val`` or ``test`` by a permutation drawn from ``seed``, so the same folder and seed give
  the same split on every machine, and copies or hard-links it into the layout i2i reads.

Every file is written atomically (:mod:`i2i.files`); nothing that exists is overwritten.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from i2i.data.io import ImageReadError, convert_channels, list_images, read_image, write_image
from i2i.data.resize import resize
from i2i.files import atomic_path

__all__ = ["CombineReport", "SplitReport", "combine_folders", "image_keys", "split_folder"]

SPLIT_NAMES: tuple[str, ...] = ("train", "val", "test")


def image_keys(folder: Path) -> dict[str, Path]:
    """The images under ``folder`` by their path relative to it without suffix (``x/1.png`` -> ``x/1``).

    Raises:
        ValueError: Two files share a key (``1.png`` and ``1.jpg``): which one is meant is unclear.
    """
    found: dict[str, Path] = {}
    for path in list_images(folder):
        key = path.relative_to(folder).with_suffix("").as_posix()
        if key in found:
            raise ValueError(f"{folder}: two images named {key!r}: {found[key].name} and {path.name}")
        found[key] = path
    return found


# -- combine ------------------------------------------------------------------------------------------


@dataclass
class CombineReport:
    """What :func:`combine_folders` did.

    Attributes:
        written: Combined images per split (``""`` when A and B had no split folders).
        only_a: Files of A without a partner in B (left out).
        only_b: Files of B without a partner in A (left out).
        size_mismatch: ``(a, b, why)`` for pairs left out because their sizes differ.
        unreadable: ``(path, reason)`` for files that could not be decoded (their pair is left out).
        resized: Pairs whose B side was scaled to A's size (``resize=True``).
    """

    written: dict[str, int] = field(default_factory=dict)
    only_a: list[Path] = field(default_factory=list)
    only_b: list[Path] = field(default_factory=list)
    size_mismatch: list[tuple[Path, Path, str]] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)
    resized: int = 0

    @property
    def ok(self) -> bool:
        """Every file found a partner and became part of a combined image."""
        return not (self.only_a or self.only_b or self.size_mismatch or self.unreadable)

    def lines(self, limit: int = 20) -> list[str]:
        """One line of counts, then the files left out (at most ``limit`` per kind, then a count)."""
        counts = ", ".join(f"{split or '.'}: {n}" for split, n in self.written.items()) or "none"
        head = f"combined {sum(self.written.values())} pairs ({counts})"
        if self.resized:
            head += f"; {self.resized} B images resized to their A image's size"
        lines = [head]
        kinds = (
            ("only in A (no B image of that name)", [str(p) for p in self.only_a]),
            ("only in B (no A image of that name)", [str(p) for p in self.only_b]),
            (
                "sizes differ (pass --resize to scale B to A)",
                [f"{a} vs {b}: {why}" for a, b, why in self.size_mismatch],
            ),
            ("unreadable", [f"{p}: {why}" for p, why in self.unreadable]),
        )
        for title, items in kinds:
            if items:
                lines.append(f"{len(items)} left out, {title}:")
                lines += [f"  {item}" for item in items[:limit]]
                if len(items) > limit:
                    lines.append(f"  ... and {len(items) - limit} more")
        return lines


def _splits(a_root: Path, b_root: Path) -> list[str]:
    """The split folders both sides have (``["train", "test"]``), or ``[""]`` when A holds images itself."""
    shared = sorted(
        p.name
        for p in a_root.iterdir()
        if p.is_dir() and not p.name.startswith(".") and (b_root / p.name).is_dir()
    )
    direct = any(p.is_file() for p in list_images(a_root, recursive=False))
    if shared and not direct:
        return shared
    return [""]


def combine_folders(
    a_root: str | os.PathLike[str],
    b_root: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    resize_b: bool = False,
    quality: int = 95,
) -> CombineReport:
    """Write ``out/SPLIT/NAME`` = A | B side by side for every name both ``a_root`` and ``b_root`` hold.

    Args:
        a_root: Folder of A images: ``a_root/SPLIT/...`` (e.g. ``train``, ``test``) or the images
            themselves.
        b_root: The matching folder of B images.
        out: Destination; an ``aligned`` dataset root afterwards.
        resize_b: Scale a B image whose size differs to its A image's size (bicubic, antialiased);
            otherwise such pairs are left out and reported.
        quality: JPEG / WebP quality of the written images.

    Returns:
        The :class:`CombineReport`.

    Raises:
        FileNotFoundError: A side is not a folder.
        ValueError: ``out`` is inside an input folder, a combined file already exists, or no names match.
    """
    a_root, b_root, out = Path(a_root), Path(b_root), Path(out)
    for side in (a_root, b_root):
        if not side.is_dir():
            raise FileNotFoundError(f"{side}: no such folder")
        if out.resolve() == side.resolve() or side.resolve() in out.resolve().parents:
            raise ValueError(f"{out}: is inside the input folder {side}; choose another --out")
    report = CombineReport()
    jobs: list[tuple[str, Path, Path, Path]] = []
    for split in _splits(a_root, b_root):
        side_a, side_b = image_keys(a_root / split), image_keys(b_root / split)
        report.only_a += [side_a[k] for k in sorted(side_a.keys() - side_b.keys())]
        report.only_b += [side_b[k] for k in sorted(side_b.keys() - side_a.keys())]
        for key in sorted(side_a.keys() & side_b.keys()):
            target = out / split / (key + side_a[key].suffix.lower())
            if target.exists():
                raise ValueError(f"{target}: already exists; choose an empty --out")
            jobs.append((split, side_a[key], side_b[key], target))
    if not jobs:
        raise ValueError(f"no image names in {a_root} match those in {b_root}")
    for split, path_a, path_b, target in jobs:
        try:
            image_a, image_b = read_image(path_a), read_image(path_b)
        except ImageReadError as error:
            report.unreadable.append((error.path, error.reason))
            continue
        if image_a.shape[:2] != image_b.shape[:2]:
            if not resize_b:
                why = f"{image_a.shape[1]}x{image_a.shape[0]} vs {image_b.shape[1]}x{image_b.shape[0]} (WxH)"
                report.size_mismatch.append((path_a, path_b, why))
                continue
            image_b = resize(image_b, *image_a.shape[:2])
            report.resized += 1
        channels = max(image_a.shape[2], image_b.shape[2])  # gray beside colour becomes colour
        pair = np.concatenate(
            [convert_channels(image_a, channels), convert_channels(image_b, channels)], axis=1
        )
        write_image(target, pair, quality=quality)  # (H, W_a + W_b, C), A on the left
        report.written[split] = report.written.get(split, 0) + 1
    return report


# -- split --------------------------------------------------------------------------------------------


@dataclass
class SplitReport:
    """What :func:`split_folder` did: names per split and where they went."""

    counts: dict[str, int]
    folders: dict[str, list[Path]]
    mode: str

    def lines(self) -> list[str]:
        counts = ", ".join(f"{split} {n}" for split, n in self.counts.items())
        folders = ", ".join(str(f) for fs in self.folders.values() for f in fs)
        return [f"split {sum(self.counts.values())} names ({counts}) by {self.mode} into {folders}"]


def split_counts(total: int, test: float, val: float) -> dict[str, int]:
    """Names per split: ``round(fraction * total)``, at least one for a positive fraction, train the rest.

    Example:
        >>> split_counts(100, 0.1, 0.05), split_counts(5, 0.1, 0.0)
        ({'train': 85, 'val': 5, 'test': 10}, {'train': 4, 'val': 0, 'test': 1})
    """
    if not (0 <= test < 1 and 0 <= val < 1 and test + val < 1):
        raise ValueError(
            f"--test and --val must be fractions in [0, 1) with a sum below 1, got {test} and {val}"
        )

    def count(fraction: float) -> int:
        return max(1, round(fraction * total)) if fraction > 0 else 0

    n_test, n_val = count(test), count(val)
    if n_test + n_val >= total:
        raise ValueError(
            f"{total} images cannot give {n_test} test and {n_val} val images and still leave some to train"
        )
    return {"train": total - n_test - n_val, "val": n_val, "test": n_test}


def split_folder(
    root: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    test: float = 0.1,
    val: float = 0.0,
    seed: int = 0,
    mode: Literal["copy", "link"] = "copy",
    unaligned: bool = False,
) -> SplitReport:
    """Split the images under ``root`` into ``out/train``, ``out/val`` and ``out/test``.

    A ``root`` holding sub-folders ``A`` and ``B`` is split by name, both sides alike, into
    ``out/SPLIT/A`` and ``out/SPLIT/B`` (the ``paired`` layout), or with ``unaligned`` into
    ``out/SPLITA`` and ``out/SPLITB`` (CycleGAN's layout); any other ``root`` into ``out/SPLIT/``
    (relative paths kept; a folder of A | B images becomes the ``aligned`` layout). The names are sorted,
    permuted by ``numpy.random.default_rng(seed)`` and cut by :func:`split_counts`.

    Args:
        root: The folder to split.
        out: Destination (outside ``root``); must not hold the files already.
        test: Fraction of names for ``test``.
        val: Fraction of names for ``val`` (no ``val`` folder when 0).
        seed: Seed of the permutation.
        mode: ``"copy"`` or ``"link"`` (hard links: no extra space; same file system only).
        unaligned: With ``A`` / ``B`` sub-folders, write ``SPLITA`` / ``SPLITB``.

    Raises:
        FileNotFoundError: ``root`` is not a folder or holds no images.
        ValueError: Bad fractions, ``out`` inside ``root``, a destination file that exists, or hard links
            across file systems.
    """
    root, out = Path(root), Path(out)
    if mode not in ("copy", "link"):
        raise ValueError(f"mode must be copy or link, got {mode!r}")
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder")
    if out.resolve() == root.resolve() or root.resolve() in out.resolve().parents:
        raise ValueError(f"{out}: is inside the folder being split {root}; choose another --out")
    two_sided = (root / "A").is_dir() and (root / "B").is_dir()
    sides: dict[str, dict[str, Path]] = (
        {side: image_keys(root / side) for side in ("A", "B")} if two_sided else {"": image_keys(root)}
    )
    keys = sorted(set().union(*(s.keys() for s in sides.values())))
    if not keys:
        raise FileNotFoundError(f"{root}: no images to split")
    counts = split_counts(len(keys), test, val)
    order = np.random.default_rng(seed).permutation(len(keys))
    assigned: dict[str, str] = {}
    start = 0
    for split in ("test", "val", "train"):
        for i in order[start : start + counts[split]]:
            assigned[keys[int(i)]] = split
        start += counts[split]

    def destination(split: str, side: str) -> Path:
        if not side:
            return out / split
        return out / f"{split}{side}" if unaligned else out / split / side

    plan = [
        (path, destination(assigned[key], side) / path.relative_to(root / side))
        for side, by_key in sides.items()
        for key, path in by_key.items()
    ]
    existing = [dst for _, dst in plan if dst.exists()]
    if existing:
        raise ValueError(
            f"{existing[0]}: already exists ({len(existing)} files would be overwritten); choose an empty --out"
        )
    for src, dst in plan:
        _place(src, dst, mode)
    folders = {split: [destination(split, side) for side in sides] for split in SPLIT_NAMES if counts[split]}
    return SplitReport({s: n for s, n in counts.items() if n or s != "val"}, folders, mode)


def _place(src: Path, dst: Path, mode: str) -> None:
    """Copy ``src`` to ``dst`` atomically, or hard-link it (a link appears whole or not at all)."""
    if mode == "copy":
        with atomic_path(dst) as tmp:
            shutil.copyfile(src, tmp)
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError as error:
        raise ValueError(f"cannot hard-link {src} to {dst} ({error.strerror}); use --copy") from None
