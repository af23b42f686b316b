"""What ``i2i translate`` reads: image files, folders (searched recursively) and lists of paths.

:func:`collect_inputs` turns the paths given into :class:`InputImage` items: each source file and the
relative path its output gets under the output folder (a folder's images keep their path inside it, a
file given by itself gets its own name, a list file's entries their path as written there).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from i2i.data.io import IMAGE_EXTENSIONS, scan_images

__all__ = ["InputImage", "collect_inputs", "read_path_list"]


@dataclass(frozen=True)
class InputImage:
    """One image to translate.

    Attributes:
        path: The source file.
        relative: Its output's path relative to the output folder (before a format change).
        folder: The folder argument it was found in (``None`` for a file given by itself).
        problem: Why it cannot be read at all (a subfolder that cannot be listed, a broken link): such
            an entry is reported as a failure, never translated. ``None`` for an image to translate.
    """

    path: Path
    relative: Path
    folder: Path | None = None
    problem: str | None = None


def read_path_list(list_file: str | os.PathLike[str]) -> list[Path]:
    """The paths in a text file, one a line; blank lines and ``#`` comments are skipped, relative paths are
    taken from the list file's folder.

    Raises:
        FileNotFoundError: The list file does not exist.
    """
    list_file = Path(list_file)
    if not list_file.is_file():
        raise FileNotFoundError(f"{list_file}: no such list file")
    lines = list_file.read_text(encoding="utf-8").splitlines()
    entries = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    return [Path(entry) if Path(entry).is_absolute() else list_file.parent / entry for entry in entries]


def collect_inputs(
    paths: Sequence[str | os.PathLike[str]],
    *,
    list_file: str | os.PathLike[str] | None = None,
    limit: int | None = None,
) -> list[InputImage]:
    """The images to translate, in the order given (each folder's images sorted).

    Args:
        paths: Image files and folders (folders are searched recursively).
        list_file: A text file of more image paths (:func:`read_path_list`); an entry below the list's
            folder keeps that relative path in the output folder, any other its file name.
        limit: Keep only the first ``limit`` images.

    Raises:
        FileNotFoundError: A path does not exist.
        ValueError: A folder holds no images, a file is not an image, nothing was given, ``limit`` is not
            positive, or two inputs would write the same output (naming both).
    """
    if limit is not None and limit < 1:
        raise ValueError(f"--limit must be at least 1, got {limit}")
    found: list[InputImage] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            listing = scan_images(path)
            if not listing.files and not listing.problems:
                suffixes = " ".join(IMAGE_EXTENSIONS)
                raise ValueError(f"{path}: no images in this folder (searched recursively for {suffixes})")
            found += [InputImage(image, image.relative_to(path), path) for image in listing.files]
            found += [InputImage(p, p.relative_to(path), path, why) for p, why in listing.problems]
        else:
            found.append(InputImage(_image_file(path), Path(path.name)))
    if list_file is not None:
        base = Path(list_file).parent.resolve()
        for path in read_path_list(list_file):
            resolved = _image_file(path).resolve()
            inside = base in resolved.parents and ".." not in PurePosixPath(path.as_posix()).parts
            found.append(InputImage(path, resolved.relative_to(base) if inside else Path(path.name)))
    if not found:
        raise ValueError("no inputs: give image files, folders or --files-from LIST")
    seen: dict[Path, Path] = {}
    unique: list[InputImage] = []
    for item in found:
        other = seen.setdefault(item.relative, item.path)
        if other.resolve() != item.path.resolve():
            raise ValueError(
                f"{other} and {item.path} would both be written as {item.relative}; translate them separately"
            )
        if other is item.path:  # the first time: a file given twice is translated once
            unique.append(item)
    return unique[:limit] if limit is not None else unique


def _image_file(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        raise ValueError(f"{path}: not an image file (expected one of {' '.join(IMAGE_EXTENSIONS)})")
    return path
