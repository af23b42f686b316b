"""Large photos decoded and encoded in strips, so memory does not grow with the photo.

OpenCV decodes and encodes whole images only: a 100-megapixel photo is 300 MB of pixels before any float
copy. libvips (through ``pyvips``; ``pip install 'i2i[large]'`` brings it with its own libvips) streams
JPEG, PNG, WebP and TIFF top to bottom with a few strips in memory:

* :class:`StripReader` decodes a photo once, strip by strip, into a raw temporary file beside the output
  (one byte per sample, the way the pixels lie in memory), then serves any rows by reading that file.
  Tiled inference reads each row of tiles several times (once per norm layer when it measures whole-image
  statistics, see :mod:`i2i.infer.statistics`), and reflect padding at the bottom reads rows back up, so
  the raw file gives random access at the price of ``H x W x C`` bytes of disk.
* :class:`StripWriter` appends finished rows to an uncompressed temporary TIFF and at the end has libvips
  encode it top to bottom into a temporary file that replaces the destination
  (:func:`~i2i.files.atomic_path`).

The decoded pixels are exactly what :func:`~i2i.data.io.read_image` returns (RGB order, 16-bit scaled
the same way), so a streamed translation equals the in-memory one bit for bit. Like
:func:`~i2i.data.io.write_image`, the writer keeps no metadata (EXIF, ICC profile). Photos that need the
whole image at once are not streamed (:meth:`StripReader.open` returns ``None``): an alpha channel, an
EXIF orientation other than 1 (a rotation needs every row), CMYK, formats other than JPEG, PNG and TIFF
(WebP keeps its EXIF after the pixels), and BMP output, which libvips does not write.
"""

from __future__ import annotations

import importlib.util
import os
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from i2i.data.image_metadata import ImageMetadata, read_metadata
from i2i.files import atomic_path

__all__ = ["StripReader", "StripWriter", "strips_available"]

_LOADERS = ("jpegload", "pngload", "tiffload")  # formats whose metadata lies before the pixels
_HEAD = 1 << 20  # bytes read for the EXIF orientation: JPEG APP1 and PNG eXIf come before the pixels

_SAVERS = {
    ".jpg": "jpegsave",
    ".jpeg": "jpegsave",
    ".png": "pngsave",
    ".webp": "webpsave",
    ".tif": "tiffsave",
    ".tiff": "tiffsave",
}


def strips_available() -> bool:
    """Whether ``pyvips`` (the ``large`` extra) is installed."""
    return importlib.util.find_spec("pyvips") is not None


def _raw_file(beside: Path, label: str) -> Path:
    """A new empty temporary file in ``beside``'s folder (hidden, removed by its owner)."""
    beside.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{beside.name}.", suffix=f".{label}.raw", dir=beside.parent)
    os.close(fd)
    return Path(name)


class StripReader:
    """Rows of a photo decoded once into a raw temporary file; see the module doc.

    Build it with :meth:`open`; close it (or use it as a context manager) to remove the file.

    Attributes:
        height: Rows. ``width``: columns. ``channels``: 1 (gray) or 3 (RGB).
    """

    def __init__(self, raw: Path, height: int, width: int, channels: int, depth: int) -> None:
        self.raw = raw
        self.height, self.width, self.channels = height, width, channels
        self._depth = depth  # bytes per sample in the raw file: 1 or 2
        self.metadata = ImageMetadata()  # ICC profile and EXIF of the photo, for the output
        self._file = open(raw, "rb")  # noqa: SIM115 - closed by close()

    @classmethod
    def open(cls, path: Path, scratch: Path) -> StripReader | None:
        """Decode ``path`` into a raw file beside ``scratch``; ``None`` when it should not be streamed.

        Raises:
            ValueError: libvips cannot read the file (the caller falls back to the in-memory reader,
                which names the reason).
        """
        import pyvips

        try:
            image = pyvips.Image.new_from_file(str(path), access="sequential")
        except pyvips.Error as error:
            raise ValueError(f"libvips cannot read {str(path)!r}: {str(error).splitlines()[0]}") from error
        with open(path, "rb") as f:
            head = f.read(_HEAD)
        metadata = read_metadata(head)
        orientation = metadata.orientation  # what read_image applies
        if image.get_typeof("orientation"):
            orientation = max(orientation, image.get("orientation"))
        depth = {"uchar": 1, "ushort": 2}.get(image.format)
        if orientation != 1 or image.hasalpha() or image.bands not in (1, 3) or depth is None:
            return None
        if image.get("vips-loader") not in _LOADERS:
            return None
        if image.interpretation not in ("srgb", "b-w", "rgb16", "grey16"):
            return None
        raw = _raw_file(scratch, "in")
        try:
            image.rawsave(str(raw))
        except pyvips.Error as error:
            raw.unlink(missing_ok=True)
            raise ValueError(f"libvips cannot decode {str(path)!r}: {str(error).splitlines()[0]}") from error
        reader = cls(raw, image.height, image.width, image.bands, depth)
        reader.metadata = metadata
        return reader

    def rows(self, index: np.ndarray) -> np.ndarray:
        """uint8 ``(len(index), W, C)``: the rows ``index`` (any order, repeats allowed) in RGB order."""
        first, last = int(index.min()), int(index.max()) + 1
        row_bytes = self.width * self.channels * self._depth
        self._file.seek(first * row_bytes)
        data = self._file.read((last - first) * row_bytes)
        dtype = np.uint8 if self._depth == 1 else np.dtype(np.uint16).newbyteorder("=")
        span = np.frombuffer(data, dtype=dtype).reshape(last - first, self.width, self.channels)
        picked = span[index - first]
        if self._depth == 2:  # 16 bits to 8 as read_image does: round(v / 257)
            picked = ((picked.astype(np.uint32) + 128) // 257).astype(np.uint8)
        return picked

    def close(self) -> None:
        self._file.close()
        self.raw.unlink(missing_ok=True)

    def __enter__(self) -> StripReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class StripWriter:
    """Rows appended top to bottom, encoded by libvips into ``path`` at :meth:`finish`; see the module doc.

    The rows go to an uncompressed TIFF beside ``path`` (pixels first, the directory at the end, strips of
    :data:`ROWS_PER_STRIP` rows), which libvips reads back strip by strip without mapping it into memory
    (a raw file would be mapped whole, and its pages would count against the process).

    Args:
        path: Destination; suffix ``.jpg``, ``.jpeg``, ``.png``, ``.webp``, ``.tif`` or ``.tiff``.
        height: Rows that will be written. ``width``: columns. ``channels``: 1 or 3.
        quality: JPEG / WebP quality, 1-100.
    """

    ROWS_PER_STRIP = 16

    def __init__(
        self,
        path: Path,
        height: int,
        width: int,
        channels: int,
        *,
        quality: int = 95,
        metadata: ImageMetadata | None = None,
    ) -> None:
        if Path(path).suffix.lower() not in _SAVERS:
            raise ValueError(f"cannot stream {str(path)!r}: suffix must be one of {', '.join(_SAVERS)}")
        if height * width * channels >= 1 << 32:
            raise ValueError(f"{height}x{width} is too large to stream through a TIFF (4 GB)")
        self.path = Path(path)
        self.height, self.width, self.channels, self.quality = height, width, channels, quality
        self.metadata = (metadata or ImageMetadata()).for_channels(channels)
        self.written = 0
        self.raw = _raw_file(self.path, "out.tif")
        self._file = open(self.raw, "wb")  # noqa: SIM115 - closed by finish() / close()
        self._file.write(b"II*\x00" + struct.pack("<I", 0))  # little-endian TIFF; directory offset later

    @staticmethod
    def can_write(path: Path) -> bool:
        """Whether the destination's format can be written in strips."""
        return Path(path).suffix.lower() in _SAVERS

    def write(self, rows: np.ndarray) -> None:
        """Append uint8 ``(n, width, channels)`` rows."""
        if rows.dtype != np.uint8 or rows.shape[1:] != (self.width, self.channels):
            raise ValueError(
                f"expected uint8 rows of shape (n, {self.width}, {self.channels}), got {rows.shape}"
            )
        if self.written + rows.shape[0] > self.height:
            raise ValueError(f"more than the {self.height} rows announced")
        self._file.write(np.ascontiguousarray(rows).tobytes())
        self.written += rows.shape[0]

    def finish(self) -> Path:
        """Encode the rows into ``path`` (atomically) and remove the temporary file."""
        import pyvips

        try:
            if self.written != self.height:
                raise ValueError(f"{self.written} rows written of {self.height}")
            self._close_tiff()
            image = pyvips.Image.new_from_file(str(self.raw), access="sequential")
            saver = _SAVERS[self.path.suffix.lower()]
            options: dict[str, Any] = {}
            if saver == "jpegsave":  # as OpenCV writes JPEG: 4:2:0 chroma at every quality
                options = {"Q": self.quality, "subsample_mode": "on"}
            elif saver == "webpsave":
                options = {"Q": self.quality}
            if saver in ("jpegsave", "pngsave"):  # as write_image: ICC profile and upright EXIF
                image = self._with_metadata(image)
            with atomic_path(self.path) as tmp:
                getattr(image, saver)(str(tmp), **options)
        finally:
            self.close()
        return self.path

    def _with_metadata(self, image: Any) -> Any:
        import pyvips

        exif = self.metadata.upright_exif()
        if self.metadata.icc_profile is None and exif is None:
            return image
        image = image.copy()
        if self.metadata.icc_profile is not None:
            image.set_type(pyvips.GValue.blob_type, "icc-profile-data", self.metadata.icc_profile)
        if exif is not None:
            image.set_type(pyvips.GValue.blob_type, "exif-data", b"Exif\x00\x00" + exif)
        return image

    def close(self) -> None:
        """Drop the rows without writing anything (also called by :meth:`finish`)."""
        self._file.close()
        self.raw.unlink(missing_ok=True)

    def _close_tiff(self) -> None:
        """Append the image file directory (baseline TIFF 6.0 tags) and point the header at it."""
        row_bytes = self.width * self.channels
        strips = -(-self.height // self.ROWS_PER_STRIP)
        offsets = [8 + i * self.ROWS_PER_STRIP * row_bytes for i in range(strips)]
        counts = [
            min(self.ROWS_PER_STRIP, self.height - i * self.ROWS_PER_STRIP) * row_bytes for i in range(strips)
        ]
        f = self._file
        extra = f.tell() + (f.tell() & 1)  # word-aligned arrays after the pixels
        f.write(b"\x00" * (extra - f.tell()))
        bits_at = extra
        arrays = struct.pack(f"<{self.channels}H", *[8] * self.channels)
        offsets_at = bits_at + len(arrays)
        arrays += struct.pack(f"<{strips}I", *offsets)
        counts_at = offsets_at + 4 * strips
        arrays += struct.pack(f"<{strips}I", *counts)
        f.write(arrays)
        directory = f.tell()
        short, long = 3, 4

        def value(kind: int, count: int, inline: int, at: int) -> tuple[int, int, int]:
            fits = count * (2 if kind == short else 4) <= 4
            return kind, count, inline if fits else at

        tags = [
            (256, long, 1, self.width),
            (257, long, 1, self.height),
            (258, *value(short, self.channels, 8, bits_at)),
            (259, short, 1, 1),  # no compression
            (262, short, 1, 2 if self.channels == 3 else 1),  # RGB / black is zero
            (273, *value(long, strips, offsets[0], offsets_at)),
            (277, short, 1, self.channels),
            (278, long, 1, self.ROWS_PER_STRIP),
            (279, *value(long, strips, counts[0], counts_at)),
            (284, short, 1, 1),  # samples interleaved
        ]
        f.write(struct.pack("<H", len(tags)))
        for tag, kind, count, data in tags:
            packed = (
                struct.pack("<H", data) + b"\x00\x00"
                if kind == short and count == 1
                else struct.pack("<I", data)
            )
            f.write(struct.pack("<HHI", tag, kind, count) + packed)
        f.write(struct.pack("<I", 0))  # no next directory
        f.seek(4)
        f.write(struct.pack("<I", directory))
        f.close()
