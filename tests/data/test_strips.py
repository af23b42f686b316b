"""Photos decoded and encoded in strips equal what the in-memory reader and writer give."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from i2i.data.io import read_image, write_image
from i2i.data.strips import StripReader, StripWriter

pytest.importorskip("pyvips")


def _photo(height: int, width: int, channels: int, dtype: type = np.uint8) -> np.ndarray:
    top = np.iinfo(dtype).max
    rng = np.random.default_rng(height * width + channels)
    return rng.integers(0, top, (height, width, channels), dtype=dtype, endpoint=True)


@pytest.mark.parametrize(
    ("name", "channels", "dtype"),
    [
        ("rgb.png", 3, np.uint8),
        ("gray.png", 1, np.uint8),
        ("deep.png", 3, np.uint16),
        ("photo.jpg", 3, np.uint8),
    ],
)
def test_rows_equal_the_in_memory_decoder(tmp_path: Path, name: str, channels: int, dtype: type) -> None:
    path = write_image(tmp_path / name, _photo(37, 53, channels, dtype))
    expected = read_image(path)  # (37, 53, C) uint8, RGB
    reader = StripReader.open(path, scratch=tmp_path / "out.png")
    assert reader is not None
    with reader:
        assert (reader.height, reader.width, reader.channels) == expected.shape
        index = np.array([5, 6, 7, 36, 35, 34, 0])  # any order: reflect padding reads rows back up
        np.testing.assert_array_equal(reader.rows(index), expected[index])
        np.testing.assert_array_equal(reader.rows(np.arange(37)), expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # the raw file is gone


def test_photos_that_need_the_whole_image_are_not_streamed(tmp_path: Path) -> None:
    rgba = write_image(tmp_path / "rgba.png", _photo(20, 30, 4))
    assert StripReader.open(rgba, scratch=tmp_path / "o.png") is None
    (tmp_path / "text.png").write_text("not an image\n")
    with pytest.raises(ValueError, match="libvips cannot read"):
        StripReader.open(tmp_path / "text.png", scratch=tmp_path / "o.png")


@pytest.mark.parametrize(
    ("name", "channels"), [("out.png", 3), ("out.jpg", 3), ("gray.png", 1), ("out.tif", 3)]
)
def test_strips_encode_to_the_pixels_of_the_in_memory_writer(
    tmp_path: Path, name: str, channels: int
) -> None:
    image = _photo(45, 31, channels)
    image = cv2.GaussianBlur(image, (5, 5), 2).reshape(image.shape)  # photo-like, so JPEG keeps some detail
    writer = StripWriter(tmp_path / "streamed" / name, 45, 31, channels, quality=90)
    for start in (0, 10, 33):  # uneven strips
        writer.write(image[start : {0: 10, 10: 33, 33: 45}[start]])
    streamed = read_image(writer.finish())
    in_memory = read_image(write_image(tmp_path / "memory" / name, image, quality=90))
    np.testing.assert_array_equal(streamed, in_memory)  # JPEG too: same codec, quality and 4:2:0 chroma
    if not name.endswith(".jpg"):
        np.testing.assert_array_equal(streamed, image.reshape(streamed.shape))
    assert [p.name for p in (tmp_path / "streamed").iterdir()] == [name]  # no raw or temporary file left


def test_rotated_photos_are_not_streamed(tmp_path: Path) -> None:
    # read_image applies the EXIF orientation, which needs every row; the in-memory path takes them.
    from tests.infer.conftest import with_exif_orientation

    ok, jpeg = cv2.imencode(".jpg", _photo(16, 40, 3))
    assert ok
    (tmp_path / "rotated.jpg").write_bytes(with_exif_orientation(jpeg.tobytes(), 6))
    assert StripReader.open(tmp_path / "rotated.jpg", scratch=tmp_path / "o.png") is None
    (tmp_path / "upright.jpg").write_bytes(with_exif_orientation(jpeg.tobytes(), 1))
    reader = StripReader.open(tmp_path / "upright.jpg", scratch=tmp_path / "o.png")
    assert reader is not None
    reader.close()


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_streamed_outputs_keep_the_icc_profile_and_upright_exif(tmp_path: Path, suffix: str) -> None:
    from PIL import Image, ImageCms

    from i2i.data.image_metadata import ImageMetadata, read_metadata
    from tests.data.test_image_metadata import _exif

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()  # libvips checks profiles
    out = tmp_path / f"out{suffix}"
    writer = StripWriter(out, 40, 48, 3, metadata=ImageMetadata(icc, _exif(6)))
    writer.write(np.random.default_rng(0).integers(0, 256, (40, 48, 3), dtype=np.uint8))
    writer.finish()
    assert read_metadata(out.read_bytes()).icc_profile == icc
    with Image.open(out) as pil:  # libvips rewrites the EXIF block: its tags, not its bytes, are kept
        assert pil.getexif()[0x0112] == 1 and pil.getexif()[0x010F] == "i2i-test"
