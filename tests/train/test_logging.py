"""What a run shows people: plain lines for logs, a bar that keeps every loss, durations."""

from __future__ import annotations

import io
import re
from pathlib import Path

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn

from i2i.data import read_image
from i2i.train.logging import RunLogger, _TrainProgress, format_duration, save_sample_grid


def test_format_duration() -> None:
    assert [format_duration(s) for s in (0, 4.4, 65, 3725, float("nan"), -1)] == [
        "0s",
        "4s",
        "1m05s",
        "1h02m05s",
        "?",
        "?",
    ]


def test_plain_lines_when_output_is_not_a_terminal(tmp_path: Path) -> None:
    """A batch job's log (stdout redirected) gets a line per log step, also with progress on: stderr is
    not a terminal under pytest either, so no bar is drawn into it."""
    stream = io.StringIO()
    with RunLogger(
        tmp_path, total_steps=10, progress=True, tensorboard=False, stream=stream, total_epochs=2
    ) as log:
        log.message("device cpu")
        log.log(5, 1, {"g/gan": 0.6931, "d": 0.25}, {"g": 2e-4})
        log.log(10, 2, {"g/gan": 0.5, "d": 0.125}, {"g": 2e-4})
    lines = stream.getvalue().splitlines()
    assert lines[0] == "device cpu"
    assert re.fullmatch(r"step 5/10 \(epoch 2/2\)  g/gan 0\.693 d 0\.25  [\d.e-]+ s/step  ETA \d+s", lines[1])
    assert re.fullmatch(r"step 10/10 \(epoch 2/2\)  g/gan 0\.5 d 0\.125  [\d.e-]+ s/step  ETA 0s", lines[2])
    assert len(lines) == 3


def test_bar_keeps_every_loss_on_an_80_column_terminal() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=80, color_system=None)
    progress = _TrainProgress(
        TextColumn("epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(), console=console
    )
    names = ["g/gan_a", "g/gan_b", "g/cycle_a", "g/cycle_b", "g/idt_a", "g/idt_b", "d_a", "d_b"]
    progress.losses = " ".join(f"{name} 0.123" for name in names)
    progress.add_task("train", total=1000, completed=10, epoch="1/200")
    console.print(progress.get_renderable())
    text = out.getvalue()
    assert "epoch 1/200" in text and "10/1000" in text and "…" not in text
    assert all(f"{name} 0.123" in text for name in names)
    assert max(len(line) for line in text.splitlines()) <= 80


def test_sample_grid_names_its_columns(tmp_path: Path) -> None:
    black = -torch.ones(2, 3, 24, 24)  # two samples, 24 px
    path = save_sample_grid(tmp_path / "grid.png", {"input": black, "output": black, "target": black})
    grid = read_image(path)
    band, cells = grid[:16], grid[16:]
    assert cells.shape == (2 + 2 * (24 + 2), 2 + 3 * (24 + 2), 3)  # the grid itself, below the band
    for column in range(3):  # each column's name is drawn over that column
        left = 2 + column * 26
        assert band[:, left : left + 24].min() < 128
    assert (cells[2:26, 2:26] == 0).all()  # the images are untouched
