"""The ``i2i`` command line, through typer's test runner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
from typer.testing import CliRunner

from i2i.cli import app, data_app
from i2i.config import RecipeError
from i2i.data.download import DownloadError, ManualDownloadRequired
from i2i.export import VerifyError
from i2i.metrics import InceptionWeightsError
from i2i.train import NonFiniteLossError, RunDirError


def test_models_lists_every_registered_name_with_its_summary() -> None:
    from i2i.losses import GAN_MODES
    from i2i.nn import DISCRIMINATORS, GENERATORS

    result = CliRunner().invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line for line in lines if not line.startswith(" ")] == [
        "generators:",
        "discriminators:",
        "GAN objectives:",
    ]
    for registry in (GENERATORS, DISCRIMINATORS, GAN_MODES):
        for name, summary in registry.describe().items():
            assert any(line.split(maxsplit=1) == [name, summary] for line in lines), name
    assert len(lines) == 3 + len(GENERATORS.names()) + len(DISCRIMINATORS.names()) + len(GAN_MODES.names())
    assert "resnet_9blocks" in result.output and "multiscale" in result.output and "lsgan" in result.output


def test_recipes_lists_every_bundled_recipe_with_its_description() -> None:
    from i2i.config import list_recipes

    result = CliRunner().invoke(app, ["recipes"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    entries = list_recipes()
    assert len(lines) == len(entries) and {"facades", "horse2zebra", "demo_pix2pix"} <= dict(entries).keys()
    for line, (name, description) in zip(lines, entries, strict=True):
        assert line.split(maxsplit=1) == [name, description]


class _ChildFailed(ChildFailedError):
    def __init__(self) -> None:
        Exception.__init__(self, "rank 1 (pid 7) exited with code 1")


def _raise(error: BaseException) -> Callable[..., Any]:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise error

    return fail


TRAIN = ["train", "demo_pix2pix", "--no-progress"]
EXIT_CODES = [  # (arguments, library function made to fail, its error, exit code, stderr)
    (
        TRAIN,
        "i2i.config.load_recipe",
        RecipeError("x.yaml: train.lr: bad"),
        2,
        "error: x.yaml: train.lr: bad",
    ),
    (TRAIN, "i2i.launch.train", RunDirError("runs/x: changed recipe"), 2, "error: runs/x: changed recipe"),
    (TRAIN, "i2i.launch.train", NonFiniteLossError("g/l1 is nan"), 1, "error: g/l1 is nan"),
    (TRAIN, "i2i.launch.train", OSError("disk full"), 1, "error: disk full"),
    (
        [*TRAIN, "--devices", "2"],
        "i2i.launch.launch",
        _ChildFailed(),
        1,
        "error: a training process failed: rank 1 (pid 7) exited with code 1",
    ),
    (["demo", "--no-progress"], "i2i.config.load_recipe", RecipeError("demo: bad"), 2, "error: demo: bad"),
    (
        ["data", "download", "cityscapes"],
        "i2i.data.download.download_dataset",
        ManualDownloadRequired("log in"),
        2,
        "log in",
    ),
    (
        ["data", "download", "horse"],
        "i2i.data.download.download_dataset",
        KeyError("unknown 'horse'"),
        1,
        "error: unknown 'horse'",
    ),
    (
        ["data", "download", "facades"],
        "i2i.data.download.download_dataset",
        DownloadError("timed out"),
        1,
        "error: timed out",
    ),
    (
        ["translate", "in", "-m", "m.onnx", "-o", "out"],
        "i2i.infer.Translator",
        ValueError("bad model"),
        2,
        "error: bad model",
    ),
    (
        ["eval", "m.onnx"],
        "i2i.metrics.evaluate.evaluate",
        InceptionWeightsError("get it"),
        2,
        "error: get it",
    ),
    (["eval", "m.onnx"], "i2i.metrics.evaluate.evaluate", OSError("unreadable"), 2, "error: unreadable"),
    (["report", "runs/x"], "i2i.metrics.report.write_report", ValueError("no run"), 2, "error: no run"),
    (
        ["export", "runs/x", "-o", "m.onnx"],
        "i2i.export.load_source",
        VerifyError("too far"),
        1,
        "error: too far",
    ),
    (["export", "runs/x", "-o", "m.onnx"], "i2i.export.load_source", OSError("no file"), 2, "error: no file"),
    (
        ["info", "m.safetensors"],
        "i2i.weights.read_model_cards",
        OSError("unreadable"),
        2,
        "error: unreadable",
    ),
    (
        ["import-reference", "net.pth", "--arch", "unet_256", "-o", "m.safetensors"],
        "i2i.export.onnx.load_reference_source",
        RuntimeError("size mismatch"),
        2,
        "error: size mismatch",
    ),
]


@pytest.mark.parametrize(("args", "target", "error", "code", "stderr"), EXIT_CODES)
def test_library_errors_become_one_line_and_an_exit_code(
    args: list[str],
    target: str,
    error: Exception,
    code: int,
    stderr: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("m.safetensors", "net.pth"):
        (tmp_path / name).write_bytes(b"")  # info and import-reference check the file exists first
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.png").write_bytes(b"")  # translate collects its inputs before loading the model
    monkeypatch.setattr(target, _raise(error))
    result = CliRunner().invoke(app, args)
    assert (result.exit_code, result.stderr) == (code, stderr + "\n"), result.output


def test_other_errors_keep_their_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("i2i.metrics.evaluate.evaluate", _raise(TypeError("a bug")))
    result = CliRunner().invoke(app, ["eval", "m.onnx"])
    assert isinstance(result.exception, TypeError) and "error:" not in result.output


def test_every_error_a_command_maps_names_a_class() -> None:
    commands = [*app.registered_commands, *data_app.registered_commands]
    tables = [getattr(command.callback, "exit_codes", ()) for command in commands]
    assert sum(1 for table in tables if table) == 13  # all but models, recipes and data list
    for entry in (entry for table in tables for entry in table):
        error = entry.error_type()
        assert isinstance(error, type) and issubclass(error, Exception), entry


REFERENCE_PTH = Path(__file__).parent / "fixtures" / "reference" / "resnet_6blocks_ngf8_instance.pth"


@pytest.mark.parametrize(
    "command",
    [
        ["translate", "{dir}", "--model", "{pth}", "--out", "{dir}/out"],
        ["eval", "{pth}", "--data", "{dir}", "--layout", "single"],
        ["info", "{pth}"],
        ["export", "{pth}", "--out", "{dir}/model.onnx"],
    ],
)
def test_a_reference_pth_model_gets_told_to_pass_arch_or_import(command: list[str], tmp_path: Path) -> None:
    args = [part.format(dir=tmp_path, pth=REFERENCE_PTH) for part in command]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "header too large" not in result.output and "Traceback" not in result.output
    assert "import-reference" in result.output or "--arch" in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1


def _leaf_commands(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    if isinstance(command, click.Group):
        return [leaf for name, sub in command.commands.items() for leaf in _leaf_commands(sub, (*path, name))]
    return [(path, command)]


def test_help_shows_every_help_text_whole() -> None:
    """Rich markup once swallowed "[default: runs/NAME]" from --out's help: every option's text must
    reach the screen as written (defaults that are not values go in show_default)."""
    import typer.main

    for path, command in _leaf_commands(typer.main.get_command(app)):
        result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "2000"})
        assert result.exit_code == 0, (path, result.output)
        shown = " ".join(result.output.split())
        for param in command.params:
            text = getattr(param, "help", None)
            if text:
                assert " ".join(text.split()) in shown, (path, param.name, text)
    out = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "2000"}).output
    assert "[default: (runs/NAME)]" in out
