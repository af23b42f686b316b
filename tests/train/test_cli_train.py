from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from i2i.cli import app


def test_train_command_writes_a_run_directory(tmp_path: Path, tiny_overrides: list[str]) -> None:
    overrides = [arg for item in [*tiny_overrides, "train.max_steps=3"] for arg in ("--set", item)]
    args = ["train", "demo_pix2pix", "--out", str(tmp_path), *overrides, "--no-progress"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "trained 3 steps" in result.output and "samples:" in result.output
    assert (tmp_path / "recipe.yaml").is_file()
    assert (tmp_path / "checkpoints" / "last").read_text().strip() == "step_00000003"
    assert sorted(p.name for p in (tmp_path / "samples").glob("*.png")) == ["step_00000003.png"]
    assert [json.loads(line)["step"] for line in (tmp_path / "metrics.jsonl").read_text().splitlines()] == [
        1,
        2,
        3,
    ]

    again = CliRunner().invoke(app, args)  # the same command again: resumes, nothing left to do
    assert again.exit_code == 0 and "trained 3 steps" in again.output


def test_train_command_reports_recipe_errors(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["train", "demo_pix2pix", "--out", str(tmp_path), "--set", "train.lr=-1"]
    )
    assert result.exit_code == 2
    assert "train.lr" in result.output
