"""Decoding and encoding: channel conversion, RGB order, EXIF orientation, unreadable files."""

from __future__ import annotations

import io
import os
import re
import struct
import zlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch

from i2i.data.io import (
    ImageReadError,
    convert_channels,
    list_images,
    read_image,
    scan_images,
    to_tensor,
    to_uint8,
    write_image,
)
from tests.infer.conftest import with_exif_orientation


def _png_bytes(width: int, height: int, colour_type: int, rows: list[bytes], chunks: bytes = b"") -> bytes:
    """A minimal 8-bit PNG written by hand (OpenCV cannot write palette PNGs)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in rows)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunks
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _red_left_blue_right(height: int = 16, width: int = 24) -> np.ndarray:
    image = np.zeros((height, width, 3), np.uint8)
    image[:, : width // 2] = (255, 0, 0)
    image[:, width // 2 :] = (0, 0, 255)
    return image


def test_red_stays_red_in_rgb_order_on_disk_and_in_memory(tmp_path: Path) -> None:
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 255
    for suffix in (".png", ".jpg", ".bmp", ".tif", ".webp"):
        path = write_image(tmp_path / f"red{suffix}", red)
        back = read_image(path)
        assert back.shape == (8, 8, 3)
        assert back[..., 0].min() >= 250 and back[..., 2].max() <= 5, suffix  # lossy formats: +-5
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)  # OpenCV's own view: red is its channel 2
        assert bgr[..., 2].min() >= 250 and bgr[..., 0].max() <= 5, suffix


def test_lossless_round_trip_keeps_every_value(tmp_path: Path) -> None:
    image = np.random.default_rng(0).integers(0, 256, (5, 7, 4), dtype=np.uint8)
    for suffix in (".png", ".tif"):
        assert np.array_equal(read_image(write_image(tmp_path / f"x{suffix}", image)), image)
    assert np.array_equal(read_image(write_image(tmp_path / "x.bmp", image[..., :3])), image[..., :3])


def test_gray_png_keeps_one_channel_or_expands(tmp_path: Path) -> None:
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    path = write_image(tmp_path / "g.png", gray)
    assert read_image(path).shape == (3, 4, 1)
    rgb = read_image(path, channels=3)
    assert np.array_equal(rgb, np.repeat(gray[..., None], 3, axis=2))
    rgba = read_image(path, channels=4)
    assert np.array_equal(rgba[..., 3], np.full((3, 4), 255, np.uint8))


def test_rgba_png_keeps_alpha_in_rgba_order_and_drops_it_for_rgb(tmp_path: Path) -> None:
    image = np.zeros((2, 2, 4), np.uint8)
    image[...] = (10, 20, 30, 40)
    path = write_image(tmp_path / "a.png", image)
    assert read_image(path).tolist() == image.tolist()
    assert read_image(path, channels=3)[0, 0].tolist() == [10, 20, 30]
    # BT.601 luma of (10, 20, 30): 0.299*10 + 0.587*20 + 0.114*30 = 18.15 -> 18
    assert read_image(path, channels=1)[0, 0].tolist() == [18]


def test_16bit_png_is_scaled_to_8bit(tmp_path: Path) -> None:
    deep = np.array([[0, 257 * 128, 65535, 300]], np.uint16)  # 300 / 257 = 1.17 -> 1
    path = tmp_path / "deep.png"
    assert cv2.imwrite(str(path), deep)
    assert read_image(path)[..., 0].tolist() == [[0, 128, 255, 1]]


def test_palette_png_is_expanded_to_rgb(tmp_path: Path) -> None:
    palette = b"\xff\x00\x00" + b"\x00\x00\xff"  # index 0 red, index 1 blue
    plte = struct.pack(">I", 6) + b"PLTE" + palette + struct.pack(">I", zlib.crc32(b"PLTE" + palette))
    path = tmp_path / "p.png"
    path.write_bytes(_png_bytes(2, 2, 3, [b"\x00\x01", b"\x01\x00"], chunks=plte))
    image = read_image(path)
    assert image.shape == (2, 2, 3)
    assert image[0, 0].tolist() == [255, 0, 0] and image[0, 1].tolist() == [0, 0, 255]
    assert read_image(path, channels=1).shape == (2, 2, 1)


def test_exif_orientation_6_is_rotated_clockwise(tmp_path: Path) -> None:
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(_red_left_blue_right(), cv2.COLOR_RGB2BGR))
    assert ok
    data = with_exif_orientation(jpeg.tobytes(), 6)
    # The reason for parsing EXIF ourselves: IMREAD_UNCHANGED ignores the orientation.
    assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED).shape[:2] == (16, 24)
    path = tmp_path / "rotated.jpg"
    path.write_bytes(data)
    image = read_image(path).astype(int)
    assert image.shape == (24, 16, 3)
    # 90 degrees clockwise: the left (red) half of the stored image ends up on top.
    assert image[2, 8, 0] > 230 and image[2, 8, 2] < 25
    assert image[21, 8, 2] > 230 and image[21, 8, 0] < 25


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_pillow(tmp_path: Path, orientation: int) -> None:
    pil_image = pytest.importorskip("PIL.Image")
    pil_ops = pytest.importorskip("PIL.ImageOps")
    source = np.zeros((6, 10, 3), np.uint8)
    source[:3, :5], source[:3, 5:], source[3:, 5:] = (255, 0, 0), (0, 255, 0), (0, 0, 255)
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(source, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 100])
    assert ok
    data = with_exif_orientation(jpeg.tobytes(), orientation)
    (tmp_path / "o.jpg").write_bytes(data)
    expected = np.asarray(pil_ops.exif_transpose(pil_image.open(io.BytesIO(data))).convert("RGB"))
    mine = read_image(tmp_path / "o.jpg")
    assert mine.shape == expected.shape
    assert np.abs(mine.astype(int) - expected.astype(int)).max() <= 2  # two JPEG decoders


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.png", b"", "empty file"),
        ("notes.png", b"these are my notes, not a picture\n", "not a decodable image"),
        ("noise.jpg", bytes(range(256)) * 4, "not a decodable image"),
    ],
)
def test_unreadable_files_raise_one_line_error_naming_the_path(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImageReadError, match=reason) as info:
        read_image(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, ValueError) and info.value.path == path


def test_truncated_jpeg_and_png_are_rejected(tmp_path: Path) -> None:
    image = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    for suffix in (".jpg", ".png"):
        whole = write_image(tmp_path / f"whole{suffix}", image).read_bytes()
        cut = tmp_path / f"cut{suffix}"
        cut.write_bytes(whole[: len(whole) * 2 // 3])
        with pytest.raises(ImageReadError, match=re.escape(cut.name)):
            read_image(cut)


def test_jpeg_with_trailing_bytes_after_end_marker_is_accepted(tmp_path: Path) -> None:
    ok, jpeg = cv2.imencode(".jpg", np.full((8, 8, 3), 128, np.uint8))
    assert ok
    path = tmp_path / "trailer.jpg"
    path.write_bytes(jpeg.tobytes() + b"trailing metadata \xff\xda\x00")
    assert read_image(path).shape == (8, 8, 3)


def test_missing_file_and_bad_channels(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match=r"missing\.png"):
        read_image(tmp_path / "missing.png")
    write_image(tmp_path / "x.png", np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(ValueError, match="channels"):
        read_image(tmp_path / "x.png", channels=2)


def test_unicode_path_round_trip(tmp_path: Path) -> None:
    image = np.full((3, 3, 3), (1, 2, 3), np.uint8)
    path = write_image(tmp_path / "fotos é 图像" / "bild ü.png", image)
    assert np.array_equal(read_image(path), image)


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "x.jpg"
    write_image(path, np.zeros((4, 4, 3), np.uint8))
    write_image(path, np.full((4, 4, 4), 255, np.uint8))  # overwrite; RGBA to JPEG drops alpha
    assert read_image(path).min() >= 250
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.jpg"]
    with pytest.raises(ValueError, match="suffix"):
        write_image(tmp_path / "x.gif", np.zeros((4, 4, 3), np.uint8))


def test_jpeg_quality_changes_file_size(tmp_path: Path) -> None:
    image = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    small = write_image(tmp_path / "q10.jpg", image, quality=10).stat().st_size
    large = write_image(tmp_path / "q95.jpg", image, quality=95).stat().st_size
    assert small < large / 2


def test_list_images_sorted_case_insensitive_and_skips_hidden(tmp_path: Path) -> None:
    for name in (
        "b.PNG",
        "a.jpg",
        "c.JpEg",
        "sub/d.webp",
        "sub/e.tiff",
        "x.txt",
        ".hidden.png",
        "sub/._f.jpg",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / "__MACOSX" / "g.png").write_bytes(b"")
    names = [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path)]
    assert names == ["a.jpg", "b.PNG", "c.JpEg", "sub/d.webp", "sub/e.tiff"]
    assert [p.name for p in list_images(tmp_path, recursive=False)] == ["a.jpg", "b.PNG", "c.JpEg"]
    with pytest.raises(FileNotFoundError, match="nowhere"):
        list_images(tmp_path / "nowhere")


def test_scan_images_names_unlistable_folders_and_broken_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("a.png", "locked/b.png", "ok/c.jpg"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "gone.jpg").symlink_to(tmp_path / "deleted.jpg")
    (tmp_path / "notes.txt").symlink_to(tmp_path / "deleted.txt")  # not an image name: not ours
    os.mkfifo(tmp_path / "pipe.png")
    real_scandir = os.scandir

    def scandir(path: Any) -> Any:  # root may read any folder, so the permission error is made here
        if Path(path) == tmp_path / "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    listing = scan_images(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in listing.files] == ["a.png", "ok/c.jpg"]
    problems = {p.relative_to(tmp_path).as_posix(): reason for p, reason in listing.problems}
    assert problems == {
        "pipe.png": "not a regular file",
        "gone.jpg": f"broken symbolic link (to {str(tmp_path / 'deleted.jpg')!r})",
        "locked": "cannot list folder (Permission denied)",
    }
    assert list_images(tmp_path) == listing.files


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads folders whatever their mode")
def test_scan_images_reports_a_folder_without_read_permission(tmp_path: Path) -> None:
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "b.png").write_bytes(b"")
    (tmp_path / "locked").chmod(0o000)
    try:
        assert [(p.name, r) for p, r in scan_images(tmp_path).problems] == [
            ("locked", "cannot list folder (Permission denied)")
        ]
    finally:
        (tmp_path / "locked").chmod(0o755)


def test_tensor_round_trip_is_exact_for_all_uint8_values() -> None:
    values = np.arange(256, dtype=np.uint8).reshape(16, 16)
    image = np.stack([values, values.T, 255 - values], axis=2)
    tensor = to_tensor(image)
    assert tensor.shape == (3, 16, 16) and tensor.dtype == torch.float32
    assert tensor.min().item() == -1.0 and tensor.max().item() == 1.0
    assert np.array_equal(to_uint8(tensor), image)
    batch = to_uint8(torch.stack([tensor, tensor]))
    assert batch.shape == (2, 16, 16, 3) and np.array_equal(batch[1], image)
    assert to_uint8(torch.full((1, 1, 1), 7.0))[0, 0, 0] == 255  # clamped


def test_convert_channels_shapes() -> None:
    rgb = np.zeros((2, 3, 3), np.uint8)
    assert convert_channels(rgb, 1).shape == (2, 3, 1)
    assert convert_channels(rgb, 4).shape == (2, 3, 4)
    assert convert_channels(rgb[..., 0], 3).shape == (2, 3, 3)
