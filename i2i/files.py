"""Atomic file writes: a reader sees the old content or the new, never a torn file.

Every file i2i writes under a final name (weights, checkpoints, pointers, recipes, images, reports)
goes through :func:`atomic_path`: the content is written to a temporary file in the destination
folder (same file system), which then replaces the destination with ``os.replace``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "refuse_overwriting", "write_bytes_atomic", "write_text_atomic"]


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically.

    Missing parent folders are created. On an exception the temporary file is removed and ``path`` is
    left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` so that readers see the old or the new content, never a mix."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes_atomic(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)


def refuse_overwriting(output: Path, *inputs: Path) -> None:
    """Raise ``ValueError`` naming ``output`` when it is one of ``inputs`` (the same file, by path or by
    ``os.path.samefile``): writing it would destroy the input it is made from.

    Example:
        >>> refuse_overwriting(Path("a/m.onnx"), Path("a/../a/m.onnx"))  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ValueError: a/m.onnx: is the input a/../a/m.onnx; choose another output file
    """
    for source in inputs:
        same = Path(output).resolve() == Path(source).resolve()
        if not same and Path(output).exists() and Path(source).exists():
            same = os.path.samefile(output, source)
        if same:
            raise ValueError(f"{output}: is the input {source}; choose another output file")
