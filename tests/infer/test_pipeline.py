"""Folder -> folder: bad files reported and skipped, relative paths kept, atomic writes, --skip-existing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from i2i.cli import app
from i2i.data.io import read_image, read_image_with_metadata, write_image
from i2i.infer import TorchBackend, Translator
from i2i.infer.pipeline import check_folders, translate_folder
from tests.infer.conftest import BAD, GOOD, CountingBackend, random_image, write_photo_folder


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    return write_photo_folder(tmp_path / "photos")


def _translator(weights: Path, batch_size: int = 2) -> tuple[Translator, CountingBackend]:
    backend = CountingBackend(TorchBackend.load(weights, device="cpu"))
    return Translator(backend, batch_size=batch_size), backend


@pytest.mark.slow  # ~1 s alone; up to 6 s when other processes' OpenMP threads share the 2 cores
def test_folder_translation_reports_bad_files_and_keeps_the_rest(
    photos: Path, tmp_path: Path, onnx_model: tuple[Path, Path]
) -> None:
    weights, _ = onnx_model
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["translate", str(photos), "--model", str(weights), "--out", str(out), "--no-progress"]
    )
    assert result.exit_code == 1, result.output
    assert "6 translated, 0 skipped, 3 failed" in result.output
    for name, reason in BAD.items():
        assert f"failed: {photos / name}: " in result.output and reason in result.output
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == sorted(GOOD)  # relative paths kept, nothing for the bad files, no temp files left

    translator = Translator(weights, device="cpu")
    for name in ["a.png", "sub/b.png", "sub/odd.png", "gray.png"]:
        # PNG is lossless; a.png and b.png ran as a batch of 2, whose float32 results may differ from a
        # batch of 1 in the last bits and flip the rounding of a value on a half level: <= 1 level.
        expected = translator.translate(read_image(photos / name)).astype(int)
        difference = np.abs(read_image(out / name).astype(int) - expected)
        assert difference.max() <= 1 and difference.mean() < 0.01
    assert read_image(out / "sub/odd.png").shape == (37, 53, 3)
    assert read_image(out / "gray.png").shape == (24, 24, 3)  # an RGB model writes RGB
    rgba_out = read_image(out / "rgba.png")
    assert rgba_out.shape == (20, 28, 4)
    np.testing.assert_array_equal(rgba_out[:, :, 3], read_image(photos / "rgba.png")[:, :, 3])
    assert read_image(out / "rotated.jpg").shape == (40, 16, 3)  # orientation 6: upright is 40 x 16


def test_second_run_with_skip_existing_does_no_work(
    photos: Path, tmp_path: Path, onnx_model: tuple[Path, Path]
) -> None:
    weights, _ = onnx_model
    out = tmp_path / "out"
    translator, backend = _translator(weights)
    first = translate_folder(translator, photos, out)
    assert (first.done, first.skipped, len(first.failed)) == (6, 0, 3)
    assert backend.images == 6
    assert (2, 3, 32, 48) in backend.shapes  # a.png and sub/b.png share a batch
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*")}

    translator, backend = _translator(weights)
    second = translate_folder(translator, photos, out, skip_existing=True)
    assert (second.done, second.skipped) == (0, 6)
    assert backend.calls == 0
    assert {f.path for f in second.failed} == {photos / name for name in BAD}  # still no output: retried
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == mtimes  # nothing rewritten


def test_a_file_that_cannot_be_written_fails_alone(
    photos: Path, tmp_path: Path, onnx_model: tuple[Path, Path]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").write_text("a file where the sub folder should go")
    translator, _ = _translator(onnx_model[0])
    summary = translate_folder(translator, photos, out, output_format="png")
    failed = {f.path.relative_to(photos).as_posix() for f in summary.failed}
    assert failed == {*BAD, "sub/b.png", "sub/odd.png"}
    assert summary.done == 4
    assert (out / "rotated.png").is_file()  # --format png converts
    assert not [p for p in out.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]


def test_output_inside_the_input_folder_is_refused(photos: Path, onnx_model: tuple[Path, Path]) -> None:
    weights, _ = onnx_model
    for out in (photos, photos / "translated"):
        result = CliRunner().invoke(
            app, ["translate", str(photos), "--model", str(weights), "--out", str(out), "--no-progress"]
        )
        assert result.exit_code == 2
        assert "is the input folder" in result.output and "or inside it" in result.output
    assert not (photos / "translated").exists()


def test_input_inside_output_is_refused_only_when_an_output_would_land_among_the_inputs(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    check_folders(data / "photos", data, [data / "a.png", data / "sub" / "b.png"])  # harmless
    with pytest.raises(ValueError, match="would land inside the input folder"):
        check_folders(data / "photos", data, [data / "a.png", data / "photos" / "a.png"])


def test_onnx_model_through_the_cli(photos: Path, tmp_path: Path, onnx_model: tuple[Path, Path]) -> None:
    _, onnx_path = onnx_model
    out = tmp_path / "out"
    args = ["translate", str(photos / "sub"), "--model", str(onnx_path), "--out", str(out), "--no-progress"]
    result = CliRunner().invoke(app, [*args, "--format", "jpg", "--quality", "90"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["b.jpg", "odd.jpg"]
    usage = CliRunner().invoke(app, [*args, "--precision", "bf16"])
    assert usage.exit_code == 2 and "precision is set at export" in usage.output


def test_unlistable_folders_and_broken_links_are_failures(
    photos: Path, tmp_path: Path, onnx_model: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    weights, _ = onnx_model
    (photos / "gone.jpg").symlink_to(photos / "deleted.jpg")
    real_scandir = os.scandir

    def scandir(path: object) -> object:  # tests run as root, who reads any folder: deny one here
        if Path(str(path)) == photos / "sub":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)  # type: ignore[call-overload]

    monkeypatch.setattr(os, "scandir", scandir)
    result = CliRunner().invoke(
        app,
        ["translate", str(photos), "--model", str(weights), "--out", str(tmp_path / "out"), "--no-progress"],
    )
    assert result.exit_code == 1, result.output
    assert "4 translated, 0 skipped, 5 failed" in result.output  # sub/ held 2 images: not silently left out
    assert f"failed: {photos / 'sub'}: cannot list folder (Permission denied)" in result.output
    assert f"failed: {photos / 'gone.jpg'}: broken symbolic link" in result.output


def test_icc_profile_and_exif_travel_to_the_output_and_extra_frames_are_noted(
    tmp_path: Path, onnx_model: tuple[Path, Path]
) -> None:
    from i2i.data.image_metadata import ImageMetadata, read_metadata
    from tests.data.test_image_metadata import _exif, _icc

    weights, _ = onnx_model
    src = tmp_path / "in"
    write_image(src / "photo.jpg", random_image(32, 48, 3), metadata=ImageMetadata(_icc(), _exif(1)))
    assert cv2.imwritemulti(str(src / "pages.tif"), [random_image(16, 16, 3) for _ in range(3)])
    result = CliRunner().invoke(
        app, ["translate", str(src), "--model", str(weights), "--out", str(tmp_path / "out"), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert f"note: {src / 'pages.tif'}: 3 frames; only the first was translated" in result.output
    kept = read_metadata((tmp_path / "out" / "photo.jpg").read_bytes())
    assert kept == ImageMetadata(_icc(), _exif(1))


@pytest.mark.parametrize("output_format", ["same", "png"])
def test_large_photos_are_streamed_and_equal_the_in_memory_result(
    tmp_path: Path, make_weights: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, output_format: str
) -> None:
    pytest.importorskip("pyvips")
    import i2i.infer.pipeline as pipeline

    photos = tmp_path / "photos"
    smooth = cv2.resize(random_image(12, 16, 3), (200, 150), interpolation=cv2.INTER_CUBIC)
    write_image(photos / "big.png", smooth)
    write_image(photos / "big.jpg", smooth, quality=90)
    write_image(photos / "small.png", random_image(40, 40, 3))  # fits in one tile: not tiled, not streamed
    weights = make_weights(arch="resnet_6blocks", norm="instance")  # whole-image statistics: 7 more passes
    translator = Translator(weights, device="cpu", tile=64, overlap=16, batch_size=3)
    decoded: list[str] = []
    monkeypatch.setattr(
        pipeline,
        "read_image_with_metadata",
        lambda path: decoded.append(Path(path).name) or read_image_with_metadata(path),
    )
    streamed = translate_folder(translator, photos, tmp_path / "streamed", output_format=output_format)
    assert streamed.done == 3 and decoded == ["small.png"]  # the large photos never went through read_image
    monkeypatch.setattr(pipeline, "strips_available", lambda: False)
    in_memory = translate_folder(translator, photos, tmp_path / "memory", output_format=output_format)
    assert in_memory.done == 3
    for path in sorted((tmp_path / "streamed").iterdir()):
        np.testing.assert_array_equal(read_image(path), read_image(tmp_path / "memory" / path.name))
    assert sorted(p.name for p in (tmp_path / "streamed").iterdir()) == sorted(
        p.name for p in (tmp_path / "memory").iterdir()
    )  # no raw or temporary file left
