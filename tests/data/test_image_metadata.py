"""ICC profiles and EXIF survive a translation; multi-frame files are counted; hostile chunks are bounded.

Pillow, an independent reader, checks what i2i embeds.
"""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from i2i.data.image_metadata import ImageMetadata, embed_metadata, exif_orientation, read_metadata
from i2i.data.io import read_image, read_image_with_metadata, write_image


def _icc(space: bytes = b"RGB ", size: int = 100_000) -> bytes:
    """A profile-shaped blob: size field, colour space at bytes 16-20, ``acsp`` at 36; large enough
    (100 KB) to need two JPEG APP2 segments."""
    body = bytearray(np.random.default_rng(1).integers(0, 256, size, dtype=np.uint8).tobytes())
    body[0:4] = struct.pack(">I", size)
    body[16:20] = space
    body[36:40] = b"acsp"
    return bytes(body)


def _exif(orientation: int) -> bytes:
    """A big-endian EXIF TIFF block: IFD0 with Orientation and Make."""
    make = b"i2i-test\x00"
    entries = [
        struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0),
        struct.pack(">HHII", 0x010F, 2, len(make), 8 + 2 + 2 * 12 + 4),
    ]
    return b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 2) + b"".join(entries) + b"\0" * 4 + make


def _encoded(suffix: str, image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(suffix, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    assert ok
    return data.tobytes()


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_embedded_metadata_is_read_back_by_i2i_and_by_pillow(suffix: str) -> None:
    image = np.random.default_rng(0).integers(0, 256, (24, 40, 3), dtype=np.uint8)
    icc, exif = _icc(), _exif(6)
    data = embed_metadata(_encoded(suffix, image), ImageMetadata(icc, exif))
    assert read_metadata(data) == ImageMetadata(icc, _exif(1))  # written upright: orientation 1
    with Image.open(io.BytesIO(data)) as pil:
        assert pil.info["icc_profile"] == icc
        assert pil.getexif()[0x0112] == 1 and pil.getexif()[0x010F] == "i2i-test"
        assert np.array_equal(
            np.asarray(pil.convert("RGB")),
            cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), 1), cv2.COLOR_BGR2RGB),
        )


def test_reading_applies_the_orientation_and_writing_keeps_the_metadata_upright(tmp_path: Path) -> None:
    image = np.random.default_rng(0).integers(0, 256, (16, 32, 3), dtype=np.uint8)
    source = tmp_path / "in.png"
    source.write_bytes(_with_raw_exif(_encoded(".png", image), _exif(6), _icc()))
    pixels, metadata = read_image_with_metadata(source)
    assert pixels.shape == (32, 16, 3)  # orientation 6: turned upright on reading
    assert exif_orientation(source.read_bytes()) == 6
    out = write_image(tmp_path / "out.jpg", pixels, metadata=metadata)
    assert read_image(out).shape == (32, 16, 3)  # not turned a second time by viewers or by i2i
    assert read_metadata(out.read_bytes()).icc_profile == _icc()


def _with_raw_exif(png: bytes, exif: bytes, icc: bytes) -> bytes:
    """PNG bytes with eXIf and iCCP chunks holding exactly ``exif`` (orientation kept as is)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return png[:33] + chunk(b"iCCP", b"p\x00\x00" + zlib.compress(icc)) + chunk(b"eXIf", exif) + png[33:]


def test_a_profile_of_another_colour_space_is_left_out(tmp_path: Path) -> None:
    gray = np.zeros((8, 8), np.uint8)
    out = write_image(tmp_path / "g.png", gray, metadata=ImageMetadata(_icc(b"RGB "), _exif(1)))
    assert read_metadata(out.read_bytes()) == ImageMetadata(None, _exif(1))
    out = write_image(tmp_path / "g2.png", gray, metadata=ImageMetadata(_icc(b"GRAY"), None))
    assert read_metadata(out.read_bytes()).icc_profile == _icc(b"GRAY")


def test_frames_of_multi_page_tiff_and_animated_webp_are_counted(tmp_path: Path) -> None:
    pages = [np.full((8, 8, 3), v, np.uint8) for v in (10, 20, 30)]
    assert cv2.imwritemulti(str(tmp_path / "pages.tif"), pages)
    assert read_metadata((tmp_path / "pages.tif").read_bytes()).frames == 3
    assert read_image(tmp_path / "pages.tif")[0, 0, 0] == 10  # the first page
    frames = [Image.fromarray(p) for p in pages]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="WEBP", save_all=True, append_images=frames[1:], duration=100)
    assert read_metadata(buffer.getvalue()).frames == 3
    assert read_metadata(_encoded(".png", pages[0])).frames == 1


def test_a_compressed_profile_bomb_is_dropped_quickly() -> None:
    png = _encoded(".png", np.zeros((4, 4, 3), np.uint8))
    bomb = zlib.compress(bytes(200 * 2**20), 9)  # 200 MB of zeros in about 200 KB
    data = (
        png[:33] + struct.pack(">I", len(bomb) + 3) + b"iCCP" + b"p\x00\x00" + bomb + b"\0\0\0\0" + png[33:]
    )
    start = time.perf_counter()
    assert read_metadata(data).icc_profile is None
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xd8\xff\xe1\x00",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\x05iCCP",
        b"RIFF\x00\x00\x00\x00WEBPICCP",
        b"II*\x00\xff\xff\xff\xff",
    ],
    ids=["jpeg", "png", "webp", "tiff"],
)
def test_damaged_containers_give_empty_metadata(data: bytes) -> None:
    assert read_metadata(data) == ImageMetadata()
