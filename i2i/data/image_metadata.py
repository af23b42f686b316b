"""What travels with an image file besides its first frame's pixels: EXIF, ICC profile, frame count.

Read from the file's bytes by walking its container (JPEG segments, PNG chunks, RIFF/WebP chunks, TIFF
directories) without decoding pixels, and written back into freshly encoded JPEG and PNG bytes, so a
translated photo keeps its colour profile and camera data:

* the ICC profile (JPEG ``APP2 ICC_PROFILE`` segments, PNG ``iCCP``, WebP ``ICCP``), so colour-managed
  viewers show the output in the input's colour space;
* the EXIF block (JPEG ``APP1``, PNG ``eXIf``, WebP ``EXIF``) with its orientation reset to 1, because
  the pixels were already turned upright when they were read;
* the number of frames (TIFF pages, animated WebP frames): only the first is decoded and translated.

WebP, TIFF and BMP outputs carry no metadata (their encoders in OpenCV take none).
"""

from __future__ import annotations

import dataclasses
import struct
import zlib
from dataclasses import dataclass

__all__ = ["ImageMetadata", "embed_metadata", "exif_orientation", "read_metadata"]

_EXIF_ORIENTATION_TAG = 0x0112
_MAX_ICC_BYTES = 16 * 2**20  # a PNG iCCP chunk inflates at most this far (real profiles: 0.5-600 KB)
_MAX_TIFF_PAGES = 100_000  # the page walk stops here (and on a loop)
_JPEG_SEGMENT = 65533  # the largest payload of one JPEG marker segment (length field minus itself)
_ICC_MARKER = b"ICC_PROFILE\x00"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class ImageMetadata:
    """Metadata of one image file.

    Attributes:
        icc_profile: The embedded ICC colour profile, or ``None``.
        exif: The EXIF TIFF block (starting ``II*\\0`` or ``MM\\0*``) or ``None``.
        frames: Frames in the file (TIFF pages, animated WebP frames); 1 for a still image.
    """

    icc_profile: bytes | None = None
    exif: bytes | None = None
    frames: int = 1

    @property
    def orientation(self) -> int:
        """The EXIF orientation tag (1-8); 1 when there is none or it cannot be read."""
        try:
            return _orientation(self.exif) if self.exif is not None else 1
        except (struct.error, IndexError, ValueError):
            return 1

    def upright_exif(self) -> bytes | None:
        """The EXIF block with its orientation set to 1 (the pixels were turned upright on reading)."""
        return _upright(self.exif) if self.exif is not None else None

    def for_channels(self, channels: int) -> ImageMetadata:
        """This metadata for an output of ``channels`` (1 gray, 3 RGB, 4 RGBA): an ICC profile of the
        other colour space (an RGB profile on a gray output, say) is left out, as the formats require."""
        wanted = b"GRAY" if channels == 1 else b"RGB "
        if self.icc_profile is None or self.icc_profile[16:20] == wanted:
            return self
        return dataclasses.replace(self, icc_profile=None)


def read_metadata(data: bytes) -> ImageMetadata:
    """The metadata of an encoded JPEG, PNG, WebP or TIFF file; empty for other formats or damaged
    containers (metadata never stops an image from being translated)."""
    try:
        if data[:2] == b"\xff\xd8":
            return _jpeg_metadata(data)
        if data[:8] == _PNG_SIGNATURE:
            return _png_metadata(data)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp_metadata(data)
        if data[:4] in (b"II*\x00", b"MM\x00*"):
            return ImageMetadata(frames=_tiff_pages(data))
    except (struct.error, IndexError, ValueError, zlib.error):
        pass
    return ImageMetadata()


def exif_orientation(data: bytes) -> int:
    """The EXIF orientation tag (1-8) of an encoded JPEG, PNG or WebP file; 1 when absent or unreadable."""
    return read_metadata(data).orientation


def embed_metadata(encoded: bytes, metadata: ImageMetadata) -> bytes:
    """``encoded`` JPEG or PNG bytes (as OpenCV writes them) with the ICC profile and the EXIF block
    (orientation reset to 1) inserted; other formats, and an empty ``metadata``, come back unchanged."""
    exif = metadata.upright_exif()
    if encoded[:2] == b"\xff\xd8":
        return _jpeg_with(encoded, metadata.icc_profile, exif)
    if encoded[:8] == _PNG_SIGNATURE:
        return _png_with(encoded, metadata.icc_profile, exif)
    return encoded


# --- reading ---------------------------------------------------------------------------------------


def _jpeg_metadata(data: bytes) -> ImageMetadata:
    exif, icc_parts = None, {}
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xDA:  # start of scan: no metadata after this
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        segment = data[pos + 4 : pos + 2 + length]
        if marker == 0xE1 and segment.startswith(b"Exif\x00\x00") and exif is None:
            exif = segment[6:]
        elif marker == 0xE2 and segment.startswith(_ICC_MARKER) and len(segment) > 14:
            icc_parts[segment[12]] = segment[14:]  # sequence number (1-based), then the chunk count
        pos += 2 + length
    icc = b"".join(icc_parts[k] for k in sorted(icc_parts)) if icc_parts else None
    return ImageMetadata(icc, exif)


def _png_metadata(data: bytes) -> ImageMetadata:
    exif = icc = None
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"eXIf":
            exif = body
        elif kind == b"iCCP":
            name_end = body.index(b"\x00")
            inflate = zlib.decompressobj()
            icc = inflate.decompress(body[name_end + 2 :], _MAX_ICC_BYTES)
            if inflate.unconsumed_tail:  # larger than any real profile: a decompression bomb
                icc = None
        elif kind in (b"IDAT", b"IEND"):
            break
        pos += 12 + length
    return ImageMetadata(icc, exif)


def _webp_metadata(data: bytes) -> ImageMetadata:
    exif = icc = None
    frames = 0
    pos = 12
    while pos + 8 <= len(data):
        kind, length = struct.unpack("<4sI", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"EXIF":
            exif = body[6:] if body.startswith(b"Exif\x00\x00") else body
        elif kind == b"ICCP":
            icc = body
        elif kind == b"ANMF":
            frames += 1
        pos += 8 + length + (length & 1)
    return ImageMetadata(icc, exif, max(frames, 1))


def _tiff_pages(data: bytes) -> int:
    order = "<" if data[:2] == b"II" else ">"
    (offset,) = struct.unpack(order + "I", data[4:8])
    seen: set[int] = set()
    while offset and offset not in seen and len(seen) < _MAX_TIFF_PAGES and offset + 2 <= len(data):
        seen.add(offset)
        (count,) = struct.unpack(order + "H", data[offset : offset + 2])
        next_at = offset + 2 + 12 * count
        if next_at + 4 > len(data):
            break
        (offset,) = struct.unpack(order + "I", data[next_at : next_at + 4])
    return max(len(seen), 1)


def _orientation_entry(tiff: bytes) -> tuple[str, int] | None:
    """``(byte order, offset of the orientation value)`` in an EXIF TIFF block, if it has the tag."""
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None:
        return None
    (ifd,) = struct.unpack(order + "I", tiff[4:8])
    (count,) = struct.unpack(order + "H", tiff[ifd : ifd + 2])
    for i in range(count):
        entry = ifd + 2 + 12 * i
        (tag,) = struct.unpack(order + "H", tiff[entry : entry + 2])
        if tag == _EXIF_ORIENTATION_TAG:
            return order, entry + 8
    return None


def _orientation(tiff: bytes) -> int:
    found = _orientation_entry(tiff)
    if found is None:
        return 1
    order, at = found
    (value,) = struct.unpack(order + "H", tiff[at : at + 2])
    return value if 1 <= value <= 8 else 1


def _upright(tiff: bytes) -> bytes:
    """The EXIF block with its orientation set to 1 (top-left)."""
    try:
        found = _orientation_entry(tiff)
    except (struct.error, IndexError, ValueError):
        return tiff
    if found is None:
        return tiff
    order, at = found
    return tiff[:at] + struct.pack(order + "H", 1) + tiff[at + 2 :]


# --- writing ---------------------------------------------------------------------------------------


def _jpeg_with(encoded: bytes, icc: bytes | None, exif: bytes | None) -> bytes:
    segments = []
    if exif is not None and len(exif) + 6 <= _JPEG_SEGMENT:
        segments.append(_jpeg_segment(0xE1, b"Exif\x00\x00" + exif))
    if icc:
        size = _JPEG_SEGMENT - 14
        chunks = [icc[i : i + size] for i in range(0, len(icc), size)]
        if len(chunks) <= 255:
            for number, chunk in enumerate(chunks, 1):
                segments.append(_jpeg_segment(0xE2, _ICC_MARKER + bytes([number, len(chunks)]) + chunk))
    if not segments:
        return encoded
    pos = 2  # after SOI, and after a JFIF APP0 segment, which must come first
    if encoded[2:4] == b"\xff\xe0":
        (length,) = struct.unpack(">H", encoded[4:6])
        pos = 4 + length
    return encoded[:pos] + b"".join(segments) + encoded[pos:]


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def _png_with(encoded: bytes, icc: bytes | None, exif: bytes | None) -> bytes:
    chunks = []
    if icc:
        chunks.append(_png_chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(icc)))
    if exif is not None:
        chunks.append(_png_chunk(b"eXIf", exif))
    if not chunks:
        return encoded
    (ihdr_length,) = struct.unpack(">I", encoded[8:12])
    pos = 8 + 12 + ihdr_length  # iCCP must precede PLTE and IDAT: right after IHDR
    return encoded[:pos] + b"".join(chunks) + encoded[pos:]


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
