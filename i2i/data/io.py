"""Image decoding and encoding: OpenCV underneath, RGB(A) order and EXIF orientation at the surface.

Every array that leaves this module is ``uint8`` ``(H, W, C)`` in RGB / RGBA order (grayscale keeps one
channel). Files are read as bytes with :func:`open` and decoded with ``cv2.imdecode``, so non-ASCII paths
work on every platform. ``cv2.IMREAD_UNCHANGED`` (needed to keep alpha and 16-bit data) does not apply
the EXIF orientation, so the orientation tag is parsed here (JPEG ``APP1``, PNG ``eXIf``, WebP ``EXIF``)
and applied with numpy.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from i2i.data.image_metadata import ImageMetadata, embed_metadata, read_metadata
from i2i.files import write_bytes_atomic

if TYPE_CHECKING:
    from torch import Tensor  # torch is imported where tensors are made: decoding needs only numpy

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageListing",
    "ImageReadError",
    "convert_channels",
    "decode_image",
    "encode_image",
    "is_hidden_name",
    "list_images",
    "read_image",
    "read_image_with_metadata",
    "scan_images",
    "to_tensor",
    "to_uint8",
    "write_image",
]

IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
"""File suffixes (lower case) that :func:`list_images` picks up and :func:`write_image` can write."""


class ImageReadError(ValueError):
    """A file could not be decoded as an image (missing, empty, truncated, corrupt or not an image).

    Args:
        path: The offending file; named in the one-line message.
        reason: Why it could not be read.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str = "not a decodable image") -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"cannot read image {str(self.path)!r}: {reason}")


def read_image(path: str | os.PathLike[str], channels: int | None = None) -> np.ndarray:
    """Read an image file as ``uint8`` RGB(A) with the EXIF orientation applied.

    16-bit images are scaled to 8 bits (``round(v / 257)``), palette images are expanded, and the
    result is converted to ``channels``: 1 (luma, ITU-R BT.601 weights), 3 (RGB; alpha is dropped
    as PIL's ``convert("RGB")`` does) or 4 (RGBA; opaque alpha added). ``None`` keeps the file's own
    channel count (1, 3 or 4; gray + alpha files come back as RGBA). Of a multi-page TIFF or an
    animated WebP, the first frame.

    Args:
        path: Image file (any suffix; the content decides the format).
        channels: 1, 3, 4 or ``None``.

    Returns:
        ``uint8`` array ``(H, W, C)``.

    Raises:
        ImageReadError: The file is missing, empty, truncated, corrupt or not an image.
        ValueError: ``channels`` is not 1, 3, 4 or ``None``.
    """
    return read_image_with_metadata(path, channels)[0]


def read_image_with_metadata(
    path: str | os.PathLike[str], channels: int | None = None
) -> tuple[np.ndarray, ImageMetadata]:
    """:func:`read_image` and the file's :class:`~i2i.data.image_metadata.ImageMetadata` (ICC profile,
    EXIF, frame count), from one read of the file."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        raise ImageReadError(path, err.strerror or type(err).__name__) from err
    return decode_image(data, path, channels)


def decode_image(
    data: bytes, path: str | os.PathLike[str], channels: int | None = None
) -> tuple[np.ndarray, ImageMetadata]:
    """:func:`read_image_with_metadata` on a file's bytes already read (from an object store, say);
    ``path`` only names the file in errors.

    Raises:
        ImageReadError: The bytes are empty, truncated, corrupt or not an image.
    """
    if channels not in (None, 1, 3, 4):
        raise ValueError(f"channels must be 1, 3, 4 or None, got {channels!r}")
    if not data:
        raise ImageReadError(path, "empty file (0 bytes)")
    if data[:2] == b"\xff\xd8" and not _jpeg_is_complete(data):
        raise ImageReadError(path, "truncated JPEG (no end-of-image marker)")
    decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is None or decoded.size == 0:
        raise ImageReadError(path, "not a decodable image (corrupt, truncated or an unsupported format)")
    image = _to_uint8_rgb(decoded, path)
    metadata = read_metadata(data)  # one walk of the container: orientation, ICC, EXIF, frames
    image = _apply_orientation(image, metadata.orientation)
    image = convert_channels(image, channels) if channels is not None else image
    return image, metadata


def convert_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """Convert a ``uint8`` ``(H, W, C)`` gray / RGB / RGBA array to ``channels`` (1, 3 or 4).

    Gray -> RGB repeats the channel; RGB(A) -> gray uses ITU-R BT.601 luma; RGBA -> RGB drops alpha;
    adding alpha makes the image opaque (255).
    """
    if channels not in (1, 3, 4):
        raise ValueError(f"channels must be 1, 3 or 4, got {channels!r}")
    if image.ndim == 2:
        image = image[:, :, None]
    have = image.shape[2]
    if have not in (1, 3, 4):
        raise ValueError(f"expected an image with 1, 3 or 4 channels, got shape {tuple(image.shape)}")
    if have == channels:
        return image
    rgb = image[:, :, :3] if have == 4 else image
    if channels == 1:
        if have == 1:
            return image[:, :, :1]
        return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)[:, :, None]
    if rgb.shape[2] == 1:
        rgb = np.repeat(rgb, 3, axis=2)
    if channels == 3:
        return np.ascontiguousarray(rgb)
    alpha = image[:, :, 3:4] if have == 4 else np.full((*rgb.shape[:2], 1), 255, dtype=np.uint8)
    return np.concatenate([rgb, alpha], axis=2)


def write_image(
    path: str | os.PathLike[str],
    image: np.ndarray,
    *,
    quality: int = 95,
    metadata: ImageMetadata | None = None,
) -> Path:
    """Write an RGB(A) or gray image atomically; the format follows the suffix.

    The encoded bytes go to a temporary file in the destination folder, which then replaces ``path``
    (``os.replace``), so readers never see a half-written file. Missing parent folders are created.
    JPEG cannot store alpha: RGBA written as ``.jpg`` loses its alpha channel.

    Args:
        path: Destination; suffix one of :data:`IMAGE_EXTENSIONS` (case-insensitive).
        image: ``uint8`` ``(H, W)`` or ``(H, W, C)`` with C in 1, 3, 4 (RGB / RGBA order); ``uint16``
            is accepted for PNG and TIFF.
        quality: JPEG / WebP quality, 1-100.
        metadata: ICC profile and EXIF to embed (JPEG and PNG; the EXIF orientation is reset to 1,
            since ``image`` is upright); see :mod:`i2i.data.image_metadata`.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    write_bytes_atomic(path, encode_image(path, image, quality=quality, metadata=metadata))
    return path


def encode_image(
    path: str | os.PathLike[str],
    image: np.ndarray,
    *,
    quality: int = 95,
    metadata: ImageMetadata | None = None,
) -> bytes:
    """The bytes :func:`write_image` writes to ``path`` (whose suffix picks the format), for writers
    that store them elsewhere (an object store, say). Arguments as for :func:`write_image`."""
    suffix = Path(path).suffix.lower()
    if suffix not in IMAGE_EXTENSIONS:
        raise ValueError(f"cannot write {str(path)!r}: suffix must be one of {', '.join(IMAGE_EXTENSIONS)}")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be in [1, 100], got {quality}")
    allowed = (np.uint8, np.uint16) if suffix in (".png", ".tif", ".tiff") else (np.uint8,)
    if image.dtype not in allowed:
        raise ValueError(f"cannot write {image.dtype} pixels as {suffix}; expected {allowed[0].__name__}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ValueError(f"expected (H, W) or (H, W, 1|3|4), got shape {tuple(image.shape)}")
    if image.ndim == 3 and image.shape[2] == 4 and suffix in (".jpg", ".jpeg", ".bmp"):
        image = image[:, :, :3]
    if image.ndim == 3:
        code = cv2.COLOR_RGB2BGR if image.shape[2] == 3 else cv2.COLOR_RGBA2BGRA
        image = cv2.cvtColor(np.ascontiguousarray(image), code)
    params: list[int] = []
    if suffix in (".jpg", ".jpeg"):
        params = [cv2.IMWRITE_JPEG_QUALITY, quality]
    elif suffix == ".webp":
        params = [cv2.IMWRITE_WEBP_QUALITY, quality]
    ok, encoded = cv2.imencode(suffix, image, params)
    if not ok:
        raise ValueError(f"OpenCV could not encode {str(path)!r}")
    data = encoded.tobytes()
    if metadata is not None:
        data = embed_metadata(data, metadata.for_channels(1 if image.ndim == 2 else image.shape[2]))
    return data


@dataclass(frozen=True)
class ImageListing:
    """The image files under a folder, and the entries that could not be looked at.

    Attributes:
        files: Image files (suffix in :data:`IMAGE_EXTENSIONS`, any case), sorted.
        problems: ``(path, reason)`` for subfolders that cannot be listed and image names that are
            broken symbolic links or not regular files: what a run over the folder would miss.
    """

    files: list[Path]
    problems: list[tuple[Path, str]]


def is_hidden_name(name: str) -> bool:
    """Whether a folder listing passes over the file or folder ``name``: hidden (``.name``, e.g. macOS
    ``._photo.jpg`` resource forks) or a macOS ``__MACOSX`` archive folder.

    Example:
        >>> is_hidden_name("._a.jpg"), is_hidden_name("__MACOSX"), is_hidden_name("a.jpg")
        (True, True, False)
    """
    return name.startswith(".") or name == "__MACOSX"


def scan_images(root: str | os.PathLike[str], recursive: bool = True) -> ImageListing:
    """Image files under ``root`` and what could not be read, without skipping anything silently.

    Hidden files and folders and ``__MACOSX`` folders (:func:`is_hidden_name`) are skipped by design;
    symbolic links to folders are not followed (as ``Path.rglob``).

    Raises:
        FileNotFoundError: ``root`` is not a folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {str(root)!r} does not exist")
    files: list[Path] = []
    problems: list[tuple[Path, str]] = []

    def unlistable(error: OSError) -> None:
        problems.append((Path(error.filename or root), f"cannot list folder ({error.strerror or error})"))

    for folder, subfolders, names in os.walk(root, onerror=unlistable):
        subfolders[:] = sorted(d for d in subfolders if not is_hidden_name(d))
        for name in names:
            path = Path(folder, name)
            if is_hidden_name(name) or path.suffix.lower() not in IMAGE_EXTENSIONS:
                continue
            if path.is_file():
                files.append(path)
            elif path.is_symlink() and not path.exists():
                problems.append((path, f"broken symbolic link (to {os.readlink(path)!r})"))
            else:
                problems.append((path, "not a regular file"))
        if not recursive:
            break
    return ImageListing(sorted(files), sorted(problems))


def list_images(root: str | os.PathLike[str], recursive: bool = True) -> list[Path]:
    """Image files under ``root`` (suffix in :data:`IMAGE_EXTENSIONS`, any case), sorted.

    The files of :func:`scan_images`; callers that must report what was missed use that.

    Raises:
        FileNotFoundError: ``root`` is not a folder.
    """
    return scan_images(root, recursive).files


def to_tensor(image: np.ndarray) -> Tensor:
    """``uint8`` ``(H, W, C)`` (or ``(H, W)``) -> float32 ``(C, H, W)`` in [-1, 1] (``v / 127.5 - 1``)."""
    if image.dtype != np.uint8:
        raise ValueError(f"to_tensor expects uint8, got {image.dtype}")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3:
        raise ValueError(f"to_tensor expects (H, W, C), got shape {tuple(image.shape)}")
    import torch

    chw = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))  # (C, H, W)
    return chw.float().div_(127.5).sub_(1.0)


def to_uint8(tensor: Tensor) -> np.ndarray:
    """Float ``(C, H, W)`` or ``(B, C, H, W)`` in [-1, 1] -> ``uint8`` ``(H, W, C)`` / ``(B, H, W, C)``.

    Values are clamped to [-1, 1] and rounded, so ``to_uint8(to_tensor(x))`` returns ``x`` exactly.
    """
    if tensor.ndim not in (3, 4):
        raise ValueError(f"to_uint8 expects (C, H, W) or (B, C, H, W), got shape {tuple(tensor.shape)}")
    import torch

    scaled = (tensor.detach().float().clamp(-1.0, 1.0) + 1.0) * 127.5
    array = scaled.round().to(torch.uint8).cpu().numpy()
    return np.ascontiguousarray(np.moveaxis(array, -3, -1))


# --- internals -----------------------------------------------------------------------------------


def _to_uint8_rgb(decoded: np.ndarray, path: str | os.PathLike[str]) -> np.ndarray:
    """OpenCV's BGR(A) / gray output of any depth -> uint8 RGB(A) / gray ``(H, W, C)``."""
    if decoded.dtype == np.uint16:
        decoded = ((decoded.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif decoded.dtype in (np.float32, np.float64):
        decoded = (np.clip(decoded, 0.0, 1.0) * 255.0).round().astype(np.uint8)
    elif decoded.dtype != np.uint8:
        raise ImageReadError(path, f"unsupported pixel type {decoded.dtype}")
    if decoded.ndim == 2:
        return decoded[:, :, None]
    channels = decoded.shape[2]
    if channels == 1:
        return decoded
    if channels == 2:  # gray + alpha
        gray, alpha = decoded[:, :, :1], decoded[:, :, 1:]
        return np.concatenate([np.repeat(gray, 3, axis=2), alpha], axis=2)
    if channels == 3:
        return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    if channels == 4:
        return cv2.cvtColor(decoded, cv2.COLOR_BGRA2RGBA)
    raise ImageReadError(path, f"unsupported channel count {channels}")


def _apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Undo EXIF orientation 1-8 (same result as PIL's ``ImageOps.exif_transpose``)."""
    if orientation == 2:
        image = image[:, ::-1]
    elif orientation == 3:
        image = image[::-1, ::-1]
    elif orientation == 4:
        image = image[::-1]
    elif orientation == 5:
        image = image.transpose(1, 0, 2)
    elif orientation == 6:
        image = np.rot90(image, k=-1)  # 90 degrees clockwise
    elif orientation == 7:
        image = image[::-1, ::-1].transpose(1, 0, 2)
    elif orientation == 8:
        image = np.rot90(image, k=1)  # 90 degrees counter-clockwise
    return np.ascontiguousarray(image)


def _jpeg_is_complete(data: bytes) -> bool:
    """Whether a JPEG stream reaches its end-of-image marker (libjpeg only warns on truncation).

    Walks the marker segments (skipping embedded thumbnails by length) and the entropy-coded data,
    where a 0xFF byte is always followed by 0x00 (stuffing) or a restart marker, until EOI (0xFFD9).
    Data after EOI is allowed.
    """
    pos, size = 2, len(data)
    while pos + 1 < size:
        if data[pos] != 0xFF:
            return False
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:
            return True
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2
            continue
        if pos + 4 > size:
            return False
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        pos += 2 + length
        if marker == 0xDA:  # entropy-coded data follows until the next real marker
            while True:
                pos = data.find(b"\xff", pos)
                if pos < 0 or pos + 1 >= size:
                    return False
                following = data[pos + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
                    pos += 1 if following == 0xFF else 2
                    continue
                break
    return False
