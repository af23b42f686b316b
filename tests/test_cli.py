"""The ``i2i`` command line, through typer's test runner."""

from __future__ import annotations

from typer.testing import CliRunner

from i2i.cli import app


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
