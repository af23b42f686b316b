"""Atomic file writes: a reader sees the old content or the new, never a torn file.

Every file i2i writes under a final name (weights, checkpoints, pointers, recipes, images, reports)
goes through :func:`atomic_path`: the content is written to a temporary file in the destination
folder (same file system), flushed to the disk (``fsync``), given the permissions the process's
umask allows (``mkstemp`` would leave 0600, unreadable to other users and web servers), and then
replaces the destination with ``os.replace``; the folder is synced too, so a power loss leaves the
old file or the new one, never an empty one. Temporary files are named ``.NAME.*.tmp``
(:data:`TEMPORARY_GLOB`), so a run killed mid-write can find and remove them.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "CACHE_ENV",
    "TEMPORARY_GLOB",
    "atomic_path",
    "cache_dir",
    "current_umask",
    "refuse_overwriting",
    "write_bytes_atomic",
    "write_text_atomic",
]

TEMPORARY_GLOB = ".*.tmp"
"""The names of :func:`atomic_path`'s temporary files (left behind only by a killed process)."""
CACHE_ENV = "I2I_CACHE"
"""Environment variable naming the cache folder of downloaded weights (default ``~/.cache/i2i``)."""


def cache_dir() -> Path:
    """Where downloaded weights live (Inception for FID, pretrained models): ``$I2I_CACHE`` if set,
    else ``~/.cache/i2i``."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "i2i"


def current_umask() -> int:
    """The process's umask, read without changing it (``/proc/self/status`` on Linux; elsewhere the
    classic set-and-restore, which is not atomic across threads but only runs there)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


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
        with open(tmp, "rb+") as written:  # the content is on the disk before it takes the name
            os.fsync(written.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
        _fsync_folder(path.parent)
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
