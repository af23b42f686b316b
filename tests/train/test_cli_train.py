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

    # a batch job's log (output not a terminal): what was chosen, then a line per log step
    assert "device cpu, precision fp32" in result.output and "fast paths: adam" in result.output
    assert "data: synthetic_paired layout, generated (32 px): 8 items" in result.output
    assert "steps: 3 (4 per epoch at batch 2 x 2 epochs = 1 + 1 decay, capped by train.max_steps 3)" in (
        result.output
    )
    assert [line.split("  ")[0] for line in result.output.splitlines() if line.startswith("step ")] == [
        "step 1/3 (epoch 1/2)",
        "step 2/3 (epoch 1/2)",
        "step 3/3 (epoch 1/2)",
    ]

    again = CliRunner().invoke(app, args)  # the same command again: resumes, nothing left to do
    assert again.exit_code == 0 and "nan" not in again.output
    assert f"nothing to train: {tmp_path} already finished at step 3" in again.output


def test_train_command_reports_recipe_errors(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["train", "demo_pix2pix", "--out", str(tmp_path), "--set", "train.lr=-1"]
    )
    assert result.exit_code == 2
    assert "train.lr" in result.output
