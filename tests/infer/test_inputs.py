"""i2i translate's inputs (files, folders, lists, --limit), test-time geometry and the results page."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from i2i.cli import app
from i2i.data.io import write_image
from i2i.data.resize import resize
from i2i.infer import Translator
from i2i.infer.inputs import collect_inputs
from i2i.infer.results_page import ResultRow, write_results_page
from i2i.infer.translator import fit_input
from tests.infer.conftest import WeightsFactory

runner = CliRunner()


def _image(seed: int, height: int = 16, width: int = 24) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_fit_input_scales_the_width_then_crops_the_centre() -> None:
    image = _image(0, 30, 40)
    scaled = fit_input(image, multiple=4, scale_width=20)
    assert scaled.shape == (16, 20, 3)  # 30 * 20 / 40 = 15 -> the nearest multiple of 4
    assert np.array_equal(scaled, resize(image, 16, 20))
    cropped = fit_input(image, multiple=4, scale_width=20, crop=8)
    assert np.array_equal(cropped, scaled[4:12, 6:14])  # centred: (16 - 8) / 2, (20 - 8) / 2
    assert fit_input(image, multiple=4, crop=64).shape == (30, 40, 3)  # smaller than the crop: whole
    with pytest.raises(ValueError, match="choose one"):
        fit_input(image, multiple=4, resize_to=16, scale_width=16)


def test_translator_crop_translates_the_centre_window(make_weights: WeightsFactory) -> None:
    weights = make_weights()
    image = _image(1, 40, 48)
    cropped = Translator(weights, device="cpu", crop=16).translate(image)
    assert cropped.shape == (16, 16, 3)
    assert np.array_equal(cropped, Translator(weights, device="cpu").translate(image[12:28, 16:32]))
    scaled = Translator(weights, device="cpu", scale_width=24).translate(image)
    assert scaled.shape == (20, 24, 3)


def test_collect_inputs_takes_files_folders_and_lists(tmp_path: Path) -> None:
    for name in ("a.png", "sub/b.png", "c.jpg"):
        write_image(tmp_path / "dir" / name, _image(0))
    write_image(tmp_path / "photo.png", _image(1))
    (tmp_path / "list.txt").write_text("# my picks\ndir/c.jpg\n\nphoto.png\n")
    items = collect_inputs([tmp_path / "dir", tmp_path / "photo.png"], list_file=tmp_path / "list.txt")
    assert [(i.path.relative_to(tmp_path).as_posix(), i.relative.as_posix()) for i in items] == [
        ("dir/a.png", "a.png"),
        ("dir/c.jpg", "c.jpg"),
        ("dir/sub/b.png", "sub/b.png"),
        ("photo.png", "photo.png"),  # given twice (argument and list): translated once
        ("dir/c.jpg", "dir/c.jpg"),  # the list keeps its relative path
    ]
    assert [i.relative.name for i in collect_inputs([tmp_path / "dir"], limit=2)] == ["a.png", "c.jpg"]
    write_image(tmp_path / "other" / "a.png", _image(2))
    with pytest.raises(ValueError, match=r"would both be written as a.png"):
        collect_inputs([tmp_path / "dir", tmp_path / "other"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"empty: no images in this folder"):
        collect_inputs([tmp_path / "empty"])
    with pytest.raises(ValueError, match="not an image file"):
        collect_inputs([tmp_path / "list.txt"])


def test_translate_a_single_file_an_empty_folder_and_a_limit(
    tmp_path: Path, make_weights: WeightsFactory
) -> None:
    weights = str(make_weights())
    photo = tmp_path / "photo.png"
    write_image(photo, _image(3))
    result = runner.invoke(
        app, ["translate", str(photo), "-m", weights, "-o", str(tmp_path / "out"), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["photo.png"]
    (tmp_path / "empty").mkdir()
    empty = runner.invoke(
        app, ["translate", str(tmp_path / "empty"), "-m", weights, "-o", str(tmp_path / "o2")]
    )
    assert empty.exit_code == 2 and "empty: no images in this folder" in empty.output
    for n in range(3):
        write_image(tmp_path / "many" / f"{n}.png", _image(n))
    limited = runner.invoke(
        app,
        [
            "translate",
            str(tmp_path / "many"),
            "-m",
            weights,
            "-o",
            str(tmp_path / "o3"),
            "--num",
            "2",
            "--no-progress",
        ],
    )
    assert limited.exit_code == 0 and "2 translated" in limited.output
    assert sorted(p.name for p in (tmp_path / "o3").iterdir()) == ["0.png", "1.png"]
    same = runner.invoke(app, ["translate", str(photo), "-m", weights, "-o", str(tmp_path), "--no-progress"])
    assert same.exit_code == 2 and "the output would replace the input" in same.output


def test_html_page_shows_input_output_and_target_with_relative_links(
    tmp_path: Path, make_weights: WeightsFactory
) -> None:
    for n in range(3):
        write_image(tmp_path / "in" / f"{n}.png", _image(n))
    write_image(tmp_path / "targets" / "1.jpg", _image(10))  # only image 1 has a target, any suffix
    args = ["translate", str(tmp_path / "in"), "-m", str(make_weights()), "-o", str(tmp_path / "out")]
    result = runner.invoke(
        app, [*args, "--targets", str(tmp_path / "targets"), "--format", "jpg", "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    page = (tmp_path / "out" / "index.html").read_text()
    assert "results page: " in result.output and "<th>target</th>" in page
    links = re.findall(r'<img src="([^"]+)"', page)
    assert links == [
        "../in/0.png",
        "0.jpg",
        "../in/1.png",
        "1.jpg",
        "../targets/1.jpg",
        "../in/2.png",
        "2.jpg",
    ]
    assert all((tmp_path / "out" / link).is_file() for link in links)  # they resolve from the page
    assert "targets" in page and "(1 found)" in page


def test_results_page_is_paginated_and_escaped(tmp_path: Path) -> None:
    rows = [ResultRow(f"<{n}> & 'x'", tmp_path / f"in {n}.png", tmp_path / f"out{n}.png") for n in range(5)]
    pages = write_results_page(tmp_path, rows, rows_per_page=2)
    assert [p.name for p in pages] == ["index.html", "index_2.html", "index_3.html"]
    first, middle, last = (p.read_text() for p in pages)
    assert first.count("<tr>") == 3 and last.count("<tr>") == 2  # a header row and the page's rows
    assert 'href="index_2.html">next' in first and "previous" not in first
    assert 'href="index.html">previous' in middle and 'href="index_3.html">next' in middle
    assert "&lt;0&gt; &amp; &#x27;x&#x27;" in first and 'src="in%201.png"' in first
