"""Where ``i2i translate --engine ray`` reads and writes: local (or shared) paths and object-store URIs.

A location is a string: a path (``/data/photos/a.jpg``) or a URI that `fsspec
<https://filesystem-spec.readthedocs.io>`_ understands (``s3://bucket/photos/a.jpg``, ``gs://...``; the
``s3`` scheme needs ``s3fs``, installed by ``pip install i2i[ray]``). Local paths go through the same
functions as the local engine (:func:`~i2i.data.io.read_image_with_metadata`,
:func:`~i2i.data.io.write_image`: temporary file + rename); an object is written with one ``PUT``,
which object stores make visible only when complete, so no reader ever sees half an output either.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from i2i.data.image_metadata import ImageMetadata
from i2i.data.io import (
    IMAGE_EXTENSIONS,
    ImageReadError,
    decode_image,
    encode_image,
    is_hidden_name,
    read_image_with_metadata,
    write_image,
)
from i2i.extras import require
from i2i.infer.inputs import InputImage

__all__ = ["exists", "is_remote", "join", "list_remote_images", "read_image_at", "write_image_at"]


def is_remote(location: str) -> bool:
    """Whether ``location`` is a URI of another file system than the local one (``s3://b/k``).

    Example:
        >>> is_remote("s3://bucket/photos"), is_remote("/data/photos"), is_remote("file:///data")
        (True, False, False)
    """
    scheme, sep, _ = location.partition("://")
    return bool(sep) and scheme.lower() not in ("file", "local")


def join(root: str, relative: Path) -> str:
    """``relative`` under ``root`` (a path or a URI), with ``/`` separators in URIs.

    Example:
        >>> join("s3://bucket/out/", Path("sub/a.png")), join("out", Path("sub/a.png"))
        ('s3://bucket/out/sub/a.png', 'out/sub/a.png')
    """
    if is_remote(root):
        return f"{root.rstrip('/')}/{relative.as_posix()}"
    return str(Path(root) / relative)


def _filesystem(location: str) -> tuple[Any, str]:
    """``(fsspec file system, path inside it)`` of a URI; fsspec caches the file system objects."""
    fsspec = require("fsspec", "ray", "object-store paths")
    return fsspec.core.url_to_fs(location)


def list_remote_images(root: str) -> list[InputImage]:
    """The images under the URI ``root`` (recursively, sorted; hidden names skipped by
    :func:`~i2i.data.io.is_hidden_name`, as :func:`~i2i.data.io.scan_images` does). Both ``path`` and
    ``relative`` of each item are its key relative to ``root`` (a :class:`~pathlib.Path` would fold the
    URI's ``//``): the URI is :func:`join` of ``root`` and ``relative``.

    Raises:
        ValueError: Nothing with an image suffix is there.
    """
    fs, base = _filesystem(root)
    base = base.rstrip("/")
    items = []
    for key in sorted(fs.find(base)):
        relative = PurePosixPath(key).relative_to(base)
        hidden = any(is_hidden_name(part) for part in relative.parts)
        if not hidden and relative.suffix.lower() in IMAGE_EXTENSIONS:
            items.append(InputImage(Path(relative), Path(relative)))
    if not items:
        raise ValueError(f"{root}: no images there (searched recursively for {' '.join(IMAGE_EXTENSIONS)})")
    return items


def read_image_at(location: str) -> tuple[np.ndarray, ImageMetadata]:
    """:func:`~i2i.data.io.read_image_with_metadata` of a path or a URI.

    Raises:
        ImageReadError: The object cannot be fetched or decoded (the reason in one line).
    """
    if not is_remote(location):
        return read_image_with_metadata(location)
    fs, path = _filesystem(location)
    try:
        data = fs.cat_file(path)
    except OSError as error:
        raise ImageReadError(location, error.strerror or f"{type(error).__name__}: {error}") from error
    return decode_image(data, location)


def write_image_at(location: str, image: np.ndarray, *, quality: int, metadata: ImageMetadata | None) -> None:
    """:func:`~i2i.data.io.write_image` to a path (atomically) or a URI (one ``PUT``): the same bytes."""
    if not is_remote(location):
        write_image(location, image, quality=quality, metadata=metadata)
        return
    fs, path = _filesystem(location)
    fs.pipe_file(path, encode_image(path, image, quality=quality, metadata=metadata))


def exists(location: str) -> bool:
    """Whether a file (or object) is at ``location``."""
    if not is_remote(location):
        return Path(location).is_file()
    fs, path = _filesystem(location)
    return bool(fs.isfile(path))
