"""``i2i translate --engine ray`` without Ray installed, and options the ray engine does not take."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from i2i.cli import app


def test_without_ray_the_engine_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, onnx_model: tuple[Path, Path]
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    (tmp_path / "in").mkdir()
    args = ["translate", str(tmp_path / "in"), "--model", str(onnx_model[1]), "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(app, [*args, "--engine", "ray"])
    assert result.exit_code == 2
    assert (
        result.output.strip() == "error: --engine ray needs ray, which is not installed: pip install i2i[ray]"
    )


@pytest.mark.parametrize(
    "option", [["--backend", "openvino"], ["--precision", "fp32"], ["--engine", "spark"]]
)
def test_options_the_engine_does_not_take_are_refused_in_one_line(
    option: list[str], tmp_path: Path, onnx_model: tuple[Path, Path]
) -> None:
    args = ["translate", str(tmp_path), "--model", str(onnx_model[1]), "--out", str(tmp_path / "out")]
    engine = [] if "--engine" in option else ["--engine", "ray"]
    result = CliRunner().invoke(app, [*args, *engine, *option])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "--engine" in result.output


@pytest.mark.parametrize("statistics", ["whole", "tile"])
def test_the_inference_actor_takes_the_tile_statistics_option(
    statistics: str, onnx_model: tuple[Path, Path]
) -> None:
    # --tile-statistics was dropped on the way to the actors (its Translator always measured the whole
    # image), so `--engine ray --tile-statistics tile` wrote other files than the local engine.
    from i2i.infer.ray_engine import _Infer

    options = {"tile": 64, "tile_statistics": statistics, "device": "cpu"}
    actor = _Infer(str(onnx_model[1]), options, threads=1)
    assert actor.translator.tile_statistics == statistics


def test_a_results_page_of_an_object_store_job_is_refused_in_one_line(
    tmp_path: Path, onnx_model: tuple[Path, Path]
) -> None:
    args = ["translate", str(tmp_path), "--model", str(onnx_model[1]), "--out", "s3://bucket/out"]
    result = CliRunner().invoke(app, [*args, "--engine", "ray", "--html"])
    assert result.exit_code == 2
    assert result.output.strip() == "error: --html and --targets need local input and output folders"
