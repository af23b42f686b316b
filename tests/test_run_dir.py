"""RunDir: one owner of every path of a run, and of its reset."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from i2i.run_dir import WEIGHTS_FILE, RunDir, RunDirError


def _complete_checkpoint(run: RunDir, step: int) -> Path:
    directory = run.checkpoint(step)
    directory.mkdir(parents=True)
    (directory / WEIGHTS_FILE).write_bytes(b"w")
    return directory


def test_latest_checkpoint_follows_last_then_the_newest_complete_one(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    assert run.latest_checkpoint() is None
    _complete_checkpoint(run, 5)
    _complete_checkpoint(run, 10)
    run.checkpoint(15).mkdir()  # killed while writing: no weights yet
    assert run.latest_checkpoint() == run.checkpoint(10)
    run.last_pointer.write_text("step_00000005\n")
    assert run.latest_checkpoint() == run.checkpoint(5)
    run.last_pointer.write_text("step_00000015\n")  # names an incomplete one: fall back
    assert run.latest_checkpoint() == run.checkpoint(10)
    assert [p.name for p in run.checkpoint_dirs()] == ["step_00000005", "step_00000010", "step_00000015"]


def test_reset_removes_everything_a_run_wrote_but_the_recipe(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    _complete_checkpoint(run, 1)
    for folder in (run.samples, run.tensorboard, run.report_assets):
        folder.mkdir(parents=True)
        (folder / "x").write_text("x")
    for file in (run.recipe, run.metrics, run.eval_log, run.report, run.best_record):
        file.write_text("{}")
    run.reset()
    assert sorted(p.name for p in run.root.iterdir()) == ["recipe.yaml"]


def test_sample_grids_are_named_by_step(tmp_path: Path) -> None:
    assert RunDir(tmp_path).sample_grid(7) == tmp_path / "samples" / "step_00000007.png"


def test_a_locked_run_directory_names_its_holder(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    with (
        run.locked(),
        pytest.raises(RunDirError, match=rf"another i2i train \(PID {os.getpid()}\)"),
        run.locked(),
    ):
        pass
    with run.locked():  # released on exit: the next run takes it
        pass


def test_temporaries_of_a_killed_run_are_removed(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    checkpoint = _complete_checkpoint(run, 3)
    left = [
        tmp_path / ".recipe.yaml.abc.tmp",
        run.checkpoints / ".last.x1.tmp",
        checkpoint / ".state.pt.y.tmp",
    ]
    for path in left:
        path.write_text("half")
    assert sorted(run.remove_temporaries()) == sorted(left)
    assert not any(p.exists() for p in left) and (checkpoint / WEIGHTS_FILE).is_file()
