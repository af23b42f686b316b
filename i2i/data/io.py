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
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import Tensor

from i2i.files import write_bytes_atomic

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageReadError",
    "convert_channels",
    "exif_orientation",
    "list_images",
    "read_image",
    "to_tensor",
    "to_uint8",
    "write_image",
]

IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
"""File suffixes (lower case) that :func:`list_images` picks up and :func:`write_image` can write."""

_EXIF_ORIENTATION_TAG = 0x0112


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
    channel count (1, 3 or 4; gray + alpha files come back as RGBA).

    Args:
        path: Image file (any suffix; the content decides the format).
        channels: 1, 3, 4 or ``None``.

    Returns:
        ``uint8`` array ``(H, W, C)``.

    Raises:
        ImageReadError: The file is missing, empty, truncated, corrupt or not an image.
        ValueError: ``channels`` is not 1, 3, 4 or ``None``.
    """
    if channels not in (None, 1, 3, 4):
        raise ValueError(f"channels must be 1, 3, 4 or None, got {channels!r}")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        raise ImageReadError(path, err.strerror or type(err).__name__) from err
    if not data:
        raise ImageReadError(path, "empty file (0 bytes)")
    if data[:2] == b"\xff\xd8" and not _jpeg_is_complete(data):
        raise ImageReadError(path, "truncated JPEG (no end-of-image marker)")
    decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is None or decoded.size == 0:
        raise ImageReadError(path, "not a decodable image (corrupt, truncated or an unsupported format)")
    image = _to_uint8_rgb(decoded, path)
    image = _apply_orientation(image, exif_orientation(data))
    return convert_channels(image, channels) if channels is not None else image


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


def write_image(path: str | os.PathLike[str], image: np.ndarray, *, quality: int = 95) -> Path:
    """Write an RGB(A) or gray image atomically; the format follows the suffix.

    The encoded bytes go to a temporary file in the destination folder, which then replaces ``path``
    (``os.replace``), so readers never see a half-written file. Missing parent folders are created.
    JPEG cannot store alpha: RGBA written as ``.jpg`` loses its alpha channel.

    Args:
        path: Destination; suffix one of :data:`IMAGE_EXTENSIONS` (case-insensitive).
        image: ``uint8`` ``(H, W)`` or ``(H, W, C)`` with C in 1, 3, 4 (RGB / RGBA order); ``uint16``
            is accepted for PNG and TIFF.
        quality: JPEG / WebP quality, 1-100.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    suffix = path.suffix.lower()
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
    write_bytes_atomic(path, encoded.tobytes())
    return path


def list_images(root: str | os.PathLike[str], recursive: bool = True) -> list[Path]:
    """Image files under ``root`` (suffix in :data:`IMAGE_EXTENSIONS`, any case), sorted.

    Hidden files and folders (``.name``, e.g. macOS ``._photo.jpg`` resource forks) and ``__MACOSX``
    folders are skipped.

    Raises:
        FileNotFoundError: ``root`` is not a folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {str(root)!r} does not exist")
    candidates = root.rglob("*") if recursive else root.iterdir()
    found = []
    for path in candidates:
        parts = path.relative_to(root).parts
        if any(p.startswith(".") or p == "__MACOSX" for p in parts):
            continue
        if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file():
            found.append(path)
    return sorted(found)


def to_tensor(image: np.ndarray) -> Tensor:
    """``uint8`` ``(H, W, C)`` (or ``(H, W)``) -> float32 ``(C, H, W)`` in [-1, 1] (``v / 127.5 - 1``)."""
    if image.dtype != np.uint8:
        raise ValueError(f"to_tensor expects uint8, got {image.dtype}")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3:
        raise ValueError(f"to_tensor expects (H, W, C), got shape {tuple(image.shape)}")
    chw = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))  # (C, H, W)
    return chw.float().div_(127.5).sub_(1.0)


def to_uint8(tensor: Tensor) -> np.ndarray:
    """Float ``(C, H, W)`` or ``(B, C, H, W)`` in [-1, 1] -> ``uint8`` ``(H, W, C)`` / ``(B, H, W, C)``.

    Values are clamped to [-1, 1] and rounded, so ``to_uint8(to_tensor(x))`` returns ``x`` exactly.
    """
    if tensor.ndim not in (3, 4):
        raise ValueError(f"to_uint8 expects (C, H, W) or (B, C, H, W), got shape {tuple(tensor.shape)}")
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


def exif_orientation(data: bytes) -> int:
    """The EXIF orientation tag (1-8) of a JPEG, PNG or WebP file (or the start of one that holds its
    metadata); 1 when absent or unreadable."""
    try:
        tiff = _find_exif_tiff(data)
        return _tiff_orientation(tiff) if tiff is not None else 1
    except (struct.error, IndexError, ValueError):
        return 1


def _find_exif_tiff(data: bytes) -> bytes | None:
    if data[:2] == b"\xff\xd8":  # JPEG: walk the segments before the first scan
        pos = 2
        while pos + 4 <= len(data) and data[pos] == 0xFF:
            marker = data[pos + 1]
            if marker == 0xDA:  # start of scan: no metadata after this
                return None
            (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
            segment = data[pos + 4 : pos + 2 + length]
            if marker == 0xE1 and segment.startswith(b"Exif\x00\x00"):
                return segment[6:]
            pos += 2 + length
        return None
    if data[:8] == b"\x89PNG\r\n\x1a\n":  # PNG: look for an eXIf chunk
        pos = 8
        while pos + 8 <= len(data):
            length, kind = struct.unpack(">I4s", data[pos : pos + 8])
            if kind == b"eXIf":
                return data[pos + 8 : pos + 8 + length]
            if kind in (b"IDAT", b"IEND"):
                return None
            pos += 12 + length
        return None
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":  # WebP: an EXIF chunk
        pos = 12
        while pos + 8 <= len(data):
            kind, length = struct.unpack("<4sI", data[pos : pos + 8])
            if kind == b"EXIF":
                payload = data[pos + 8 : pos + 8 + length]
                return payload[6:] if payload.startswith(b"Exif\x00\x00") else payload
            pos += 8 + length + (length & 1)
    return None


def _tiff_orientation(tiff: bytes) -> int:
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None:
        return 1
    (ifd,) = struct.unpack(order + "I", tiff[4:8])
    (count,) = struct.unpack(order + "H", tiff[ifd : ifd + 2])
    for i in range(count):
        entry = ifd + 2 + 12 * i
        tag, _kind, _n = struct.unpack(order + "HHI", tiff[entry : entry + 8])
        if tag == _EXIF_ORIENTATION_TAG:
            (value,) = struct.unpack(order + "H", tiff[entry + 8 : entry + 10])
            return value if 1 <= value <= 8 else 1
    return 1


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
