"""The HTML run report: files, relative image links, and rendering in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from i2i.card import ModelCard
from i2i.cli import app
from i2i.data import read_image
from i2i.files import write_text_atomic
from i2i.metrics.report import line_plot, read_jsonl, series_colors, write_report
from i2i.nn import create_generator
from i2i.weights import save_weights

RECIPE = yaml.safe_dump(
    {
        "method": "pix2pix",
        "name": "tiny",
        "data": {
            "root": "",
            "layout": "synthetic_paired",
            "synthetic_size": 32,
            "synthetic_count": 3,
            "load_size": 32,
            "crop_size": 32,
            "preprocess": "none",
        },
    }
)


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    (run / "checkpoints" / "step_00000020").mkdir(parents=True)
    (run / "recipe.yaml").write_text(RECIPE + "# <script>alert(1)</script>\n")
    generator = create_generator("resnet_6blocks", base_channels=4)
    spec = ModelCard(
        arch="resnet_6blocks",
        kwargs={"base_channels": 4},
        method="pix2pix",
        recipe=RECIPE,
        key_prefix="generator.",
    )
    tensors = {f"generator.{k}": v for k, v in generator.state_dict().items()}
    save_weights(run / "checkpoints" / "step_00000020" / "weights.safetensors", tensors, [spec])
    write_text_atomic(run / "checkpoints" / "last", "step_00000020\n")
    lines = [
        {"step": s, "epoch": 0, "time": s / 10, "it_per_s": 3.0, "lr/g": 2e-4, "g/l1": 1 / s, "d": 0.5}
        for s in (5, 10, 15, 20)
    ]
    (run / "metrics.jsonl").write_text(
        "".join(json.dumps(x) + "\n" for x in lines) + '{"step": 2'
    )  # torn line
    evals = [
        {"step": s, "fid": f, "kid": 0.01, "psnr": p} for s, f, p in ((10, 50.0, 12.0), (20, 40.0, 14.0))
    ]
    (run / "eval.jsonl").write_text("".join(json.dumps(x) + "\n" for x in evals))
    best = {"metric": "fid", "value": 40.0, "step": 20, "checkpoint": "step_00000020"}
    write_text_atomic(run / "checkpoints" / "best.json", json.dumps(best))
    return run


def _img_sources(page: str) -> list[str]:
    return re.findall(r'<img[^>]* src="([^"]+)"', page)


def test_report_links_relative_images_that_exist(run_dir: Path) -> None:
    path = write_report(run_dir, num_samples=2)
    assert path == run_dir / "report.html"
    page = path.read_text()
    sources = _img_sources(page)
    assert sources == [
        "report/losses.png",
        "report/eval_fid.png",
        "report/eval_kid.png",
        "report/eval_psnr.png",
        "report/sample_00.png",
        "report/sample_01.png",
    ]
    for src in sources:
        assert not Path(src).is_absolute() and read_image(run_dir / src).shape[2] == 3
    # a gallery row is input | output | target: three 32 px images with 4 px gaps
    assert read_image(run_dir / "report/sample_00.png").shape == (32, 3 * 32 + 2 * 4, 3)
    assert "&lt;script&gt;" in page and "<script>" not in page  # the recipe is escaped
    assert "best checkpoint by fid: step_00000020" in page and "latest checkpoint: step_00000020" in page


def test_report_without_checkpoints_or_metrics(tmp_path: Path) -> None:
    page = write_report(tmp_path, num_samples=2).read_text()
    assert "No metrics logged yet" in page and "no checkpoint yet" in page and _img_sources(page) == []
    with pytest.raises(FileNotFoundError):
        write_report(tmp_path / "missing")


def test_read_jsonl_skips_a_torn_last_line(run_dir: Path) -> None:
    assert [r["step"] for r in read_jsonl(run_dir / "metrics.jsonl")] == [5, 10, 15, 20]


def test_line_plot_draws_each_series_in_its_colour() -> None:
    image = line_plot({"a": ([0, 1, 2], [0.0, 1.0, float("nan")]), "b": ([0, 2], [1.0, 0.0])}, title="t")
    assert image.shape == (320, 640, 3) and image.dtype == np.uint8
    colours = {tuple(c) for c in image.reshape(-1, 3)}
    assert (31, 119, 180) in colours and (255, 127, 14) in colours  # series a, series b
    empty = line_plot({}, title="nothing")
    assert (empty == 255).mean() > 0.95


def test_cli_report(run_dir: Path) -> None:
    result = CliRunner().invoke(app, ["report", str(run_dir), "--samples", "1"])
    assert result.exit_code == 0, result.output
    assert "report.html" in result.output and (run_dir / "report" / "sample_00.png").is_file()


@pytest.mark.slow  # starts a browser
def test_report_renders_in_headless_chromium_with_every_image_loaded(run_dir: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no chromium on PATH (Debian/Ubuntu: apt-get install -y chromium)")
    write_report(run_dir, num_samples=2)
    # a copy of the page that records each image's naturalWidth once everything has loaded
    probe = run_dir / "probe.html"
    script = (
        "<script>window.addEventListener('load', () => document.body.setAttribute('data-widths', "
        "Array.from(document.images).map(i => i.complete ? i.naturalWidth : -1).join(',')));</script>"
    )
    probe.write_text((run_dir / "report.html").read_text().replace("</body>", script + "</body>"))
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files"]
    command += ["--virtual-time-budget=10000", "--dump-dom", probe.as_uri()]
    dom = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout
    match = re.search(r'data-widths="([^"]*)"', dom)
    assert match is not None, dom[:500]
    widths = [int(w) for w in match.group(1).split(",")]
    assert widths == [640, 640, 640, 640, 104, 104]  # four plots, two 3-image gallery rows


def test_results_come_first_and_the_recipe_is_folded_at_the_end(run_dir: Path) -> None:
    page = write_report(run_dir, num_samples=1).read_text()
    order = [page.index(mark) for mark in ("<h2>Results", "<h2>Curves", "<h2>Test translations", "<details>")]
    assert order == sorted(order)
    assert page.index("method: pix2pix") > page.index("<details><summary>Recipe (")
    assert "newest evaluation, step 20: fid 40, kid 0.01, psnr 14" in page


def test_every_series_of_a_chart_has_its_own_colour() -> None:
    """A CycleGAN logs eight losses; the six-colour palette drew the 1st and 7th alike."""
    for count in (8, 12, 20):
        colours = series_colors(count)
        assert len(set(colours)) == count
        names = [f"loss{i}" for i in range(count)]
        image = line_plot({n: ([0, 1], [float(i), float(i) + 1]) for i, n in enumerate(names)}, title="t")
        drawn = {tuple(c) for c in image.reshape(-1, 3)}
        assert all(c in drawn for c in colours)
