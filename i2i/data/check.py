"""``i2i data check ROOT``: what a folder would be read as, before a training run finds out.

:func:`check_folder` takes the layout given (or :func:`~i2i.data.layouts.detect_layout`'s answer),
finds the splits it holds, and decodes every image the way the datasets do, to report per split and
domain the number of images, the smallest and largest size, and the files that cannot be read. For
the paired layout it also reports the names without a partner (the dataset leaves them out), for the
aligned layout images too narrow to halve.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from i2i.data.io import ImageReadError, list_images, read_image
from i2i.data.layouts import detect_layout
from i2i.data.prepare import image_keys

__all__ = ["DataCheck", "FolderCheck", "check_folder"]

FOLDER_LAYOUTS: tuple[str, ...] = ("aligned", "paired", "unaligned", "single")
"""The layouts read from plain folders that :func:`check_folder` can inspect."""


@dataclass
class FolderCheck:
    """One folder of a split and domain: its images and what decoding them found.

    Attributes:
        split: ``train``, ``test`` ... (``""`` for a layout without splits).
        domain: ``A`` / ``B`` (``"A|B"`` for aligned files, ``""`` for single).
        folder: The folder read.
        count: Images found (readable or not).
        sizes: ``(height, width)`` of every readable image.
        unreadable: ``(path, reason)`` of every image that did not decode.
        unmatched: Images the layout leaves out (paired: no partner of that name; aligned: too narrow).
    """

    split: str
    domain: str
    folder: Path
    count: int = 0
    sizes: list[tuple[int, int]] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)
    unmatched: list[Path] = field(default_factory=list)

    def size_range(self) -> str:
        """``"256x256"`` when all readable images share a size, else ``"min WxH .. max WxH"`` by area."""
        if not self.sizes:
            return "-"
        low = min(self.sizes, key=lambda s: (s[0] * s[1], s))
        high = max(self.sizes, key=lambda s: (s[0] * s[1], s))
        text = f"{low[1]}x{low[0]}"
        return text if low == high else f"{text} .. {high[1]}x{high[0]}"


@dataclass
class DataCheck:
    """What :func:`check_folder` found for a dataset folder."""

    root: Path
    layout: str
    detected: bool
    folders: list[FolderCheck]

    @property
    def ok(self) -> bool:
        """Every image decodes and, where the layout pairs names, has its partner."""
        return all(not f.unreadable and not f.unmatched for f in self.folders)

    def lines(self, limit: int = 20) -> list[str]:
        """A table of split / domain / images / sizes, then the unreadable and left-out files."""
        how = "detected" if self.detected else "given"
        lines = [f"{self.root}: layout {self.layout} ({how})"]
        rows = [("split", "domain", "images", "unreadable", "left out", "size (WxH)")]
        rows += [
            (
                f.split or ".",
                f.domain or "-",
                str(f.count),
                str(len(f.unreadable)),
                str(len(f.unmatched)),
                f.size_range(),
            )
            for f in self.folders
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines += [
            "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in rows
        ]
        problems = [(str(path), reason) for f in self.folders for path, reason in f.unreadable]
        left_out = [str(path) for f in self.folders for path in f.unmatched]
        if problems:
            lines.append(f"unreadable ({len(problems)}):")
            lines += [f"  {path}: {reason}" for path, reason in problems[:limit]]
            lines += [f"  ... and {len(problems) - limit} more"] if len(problems) > limit else []
        if left_out:
            why = (
                "no partner of the same name" if self.layout == "paired" else "too narrow to split into A | B"
            )
            lines.append(f"left out by the {self.layout} layout, {why} ({len(left_out)}):")
            lines += [f"  {path}" for path in left_out[:limit]]
            lines += [f"  ... and {len(left_out) - limit} more"] if len(left_out) > limit else []
        return lines


def check_folder(
    root: str | os.PathLike[str], layout: str | None = None, *, workers: int | None = None
) -> DataCheck:
    """Inspect the dataset folder ``root`` as ``layout`` would read it (detected when ``None``).

    Args:
        root: The dataset folder (a recipe's ``data.root``).
        layout: ``aligned``, ``paired``, ``unaligned`` or ``single``; ``None`` detects it.
        workers: Threads decoding images (default ``min(8, cores)``).

    Raises:
        FileNotFoundError: ``root`` is not a folder.
        ValueError: The layout cannot be detected, is not a folder layout, or finds no images.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder")
    detected = layout is None
    layout = layout or detect_layout(root)
    if layout not in FOLDER_LAYOUTS:
        raise ValueError(f"layout {layout!r}: i2i data check reads {', '.join(FOLDER_LAYOUTS)}")
    folders = _folders(root, layout)
    if not folders:
        raise ValueError(f"{root}: no {layout} split folders with images")
    with ThreadPoolExecutor(workers or min(8, os.cpu_count() or 1)) as pool:
        for check, paths in folders:
            check.count = len(paths)
            for path, result in zip(paths, pool.map(_decode_size, paths), strict=True):
                if isinstance(result, str):
                    check.unreadable.append((path, result))
                elif layout == "aligned" and result[1] < 2:
                    check.unmatched.append(path)
                else:
                    check.sizes.append(result)
    return DataCheck(root, layout, detected, [check for check, _ in folders])


def _decode_size(path: Path) -> tuple[int, int] | str:
    """``(height, width)`` of a decodable image, else the reason it is unreadable."""
    try:
        image = read_image(path)
    except ImageReadError as error:
        return error.reason
    return image.shape[0], image.shape[1]


def _folders(root: Path, layout: str) -> list[tuple[FolderCheck, Sequence[Path]]]:
    """Every folder the layout reads under ``root``, with its image files."""
    subfolders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    found: list[tuple[FolderCheck, Sequence[Path]]] = []
    if layout == "single":
        return [(FolderCheck("", "", root), list_images(root))]
    if layout == "aligned":
        for folder in subfolders:
            paths = list_images(folder)
            if paths:
                found.append((FolderCheck(folder.name, "A|B", folder), paths))
        return found
    if layout == "unaligned":
        for folder in subfolders:
            split, side = folder.name[:-1], folder.name[-1:]
            if side in ("A", "B") and (root / f"{split}{'B' if side == 'A' else 'A'}").is_dir():
                found.append((FolderCheck(split, side, folder), list_images(folder)))
        return found
    # paired: ROOT/SPLIT/{A,B}, or ROOT/{A,B} without splits
    bases = [(p.name, p) for p in subfolders if (p / "A").is_dir() or (p / "B").is_dir()]
    if (root / "A").is_dir() or (root / "B").is_dir():
        bases = [("", root)]
    for split, base in bases:
        keys = {side: image_keys(base / side) if (base / side).is_dir() else {} for side in ("A", "B")}
        for side, other in (("A", "B"), ("B", "A")):
            check = FolderCheck(split, side, base / side)
            check.unmatched = [keys[side][k] for k in sorted(keys[side].keys() - keys[other].keys())]
            found.append((check, sorted(keys[side].values())))
    return found
