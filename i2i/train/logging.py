"""What a run reports: metrics.jsonl, TensorBoard scalars, progress (a rich bar on a terminal, plain lines
for logs) and sample grids."""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

import cv2
import numpy as np
import torch
from rich.console import Console, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.text import Text
from torch import Tensor
from torchvision.utils import make_grid

from i2i.data import write_image
from i2i.files import write_text_atomic
from i2i.run_dir import RunDir

__all__ = [
    "RunLogger",
    "format_duration",
    "mean_losses",
    "save_sample_grid",
    "truncate_metrics",
]


def save_sample_grid(path: Path, columns: Mapping[str, Tensor]) -> Path:
    """Save a PNG grid: one row per sample, one column per entry of ``columns`` (input | output | target),
    under a band with each column's name.

    Args:
        path: Destination ``.png`` file, written atomically.
        columns: Name -> ``(N, C, H, W)`` images in [-1, 1]; 1-channel images are shown gray, the alpha
            channel of 4-channel images is dropped. All entries share N, H and W.
    """
    images = [_as_rgb(t.detach().float().cpu()) for t in columns.values()]  # each (N, 3, H, W)
    tiles = torch.stack(images, dim=1).flatten(0, 1)  # (N * columns, 3, H, W), row-major
    grid = make_grid((tiles + 1) / 2, nrow=len(images), padding=_PAD, pad_value=1.0)  # (3, H', W') in [0, 1]
    pixels = (grid.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()  # (H', W', 3)
    band = _label_band(list(columns), cell=images[0].shape[-1], width=pixels.shape[1])
    return write_image(Path(path), np.concatenate([band, pixels], axis=0))


_PAD = 2  # pixels between and around the grid's cells
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _label_band(names: Sequence[str], *, cell: int, width: int, height: int = 16) -> np.ndarray:
    """A white ``(height, width, 3)`` uint8 band with ``names`` centred over the grid's columns, each
    shrunk (then shortened) to fit its ``cell`` pixels."""
    band = np.full((height, width, 3), 255, np.uint8)
    for index, name in enumerate(names):
        scale, text = 0.4, name
        while cv2.getTextSize(text, _FONT, scale, 1)[0][0] > cell and scale > 0.26:
            scale -= 0.05
        while len(text) > 1 and cv2.getTextSize(text, _FONT, scale, 1)[0][0] > cell:
            text = text[:-1]
        text_width = cv2.getTextSize(text, _FONT, scale, 1)[0][0]
        left = _PAD + index * (cell + _PAD) + max(cell - text_width, 0) // 2
        cv2.putText(band, text, (left, height - 4), _FONT, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return band


def _as_rgb(images: Tensor) -> Tensor:
    if images.shape[1] == 1:
        return images.expand(-1, 3, -1, -1)
    return images[:, :3]


def truncate_metrics(run_dir: Path, step: int) -> None:
    """Drop the metrics lines logged after ``step`` (before resuming from the checkpoint at ``step``)."""
    path = RunDir(run_dir).metrics
    if not path.is_file():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if int(json.loads(line)["step"]) <= step:
                kept.append(line)
        except (ValueError, KeyError, TypeError):  # a torn last line of a killed run
            continue
    write_text_atomic(path, "".join(f"{line}\n" for line in kept))


def format_duration(seconds: float) -> str:
    """``3725`` -> ``"1h02m05s"``, ``65`` -> ``"1m05s"``, ``4.2`` -> ``"4s"``; ``"?"`` when unknown."""
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class _TrainProgress(Progress):
    """The bar on one line and the losses below it, folded over as many lines as they need (a row of
    eight CycleGAN losses beside the bar was cut off with an ellipsis on an 80-column terminal)."""

    losses = ""

    def get_renderables(self) -> Iterable[RenderableType]:
        yield self.make_tasks_table(self.tasks)
        if self.losses:
            yield Text(self.losses, overflow="fold")


class RunLogger:
    """Logs a run: one JSON line per log step, TensorBoard scalars, and progress for people.

    Progress is a rich bar on stderr when ``progress`` is set and stderr is a terminal, and one plain
    line per log step (step, losses, s/step, ETA) on ``stream`` when there is no bar or ``stream`` is
    not a terminal (output redirected to a file, a batch job): a log file is never empty while the
    run goes on, and never holds a bar's control codes.

    Args:
        run_dir: The run directory (``metrics.jsonl``, ``tensorboard/`` and ``samples/`` go there).
        total_steps: Steps the run will make in all (for the bar and the ETA).
        start_step: Step the run starts (or resumes) at.
        progress: Show a rich progress bar on stderr (when it is a terminal).
        tensorboard: Write TensorBoard event files.
        stream: Where plain lines and messages go (standard output when None).
        total_epochs: Epochs of the run, shown in the plain lines.
    """

    def __init__(
        self,
        run_dir: Path,
        *,
        total_steps: int,
        start_step: int = 0,
        progress: bool = True,
        tensorboard: bool = True,
        stream: TextIO | None = None,
        total_epochs: int | None = None,
    ) -> None:
        self.run_dir = RunDir(Path(run_dir))
        self.run_dir.samples.mkdir(parents=True, exist_ok=True)
        self._metrics = self.run_dir.metrics.open("a", encoding="utf-8")
        self._writer: Any = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter  # slow import, only when used

            self._writer = SummaryWriter(log_dir=str(self.run_dir.tensorboard), purge_step=start_step + 1)
        self._start_time = time.perf_counter()
        self._start_step = start_step
        self._last_time = self._start_time
        self._last_step = start_step
        self._total_steps = total_steps
        self._total_epochs = total_epochs
        self._progress: _TrainProgress | None = None
        self._task: TaskID | None = None
        console = Console(stderr=True)
        if progress and console.is_terminal:
            self._progress = _TrainProgress(
                TextColumn("[bold]epoch {task.fields[epoch]}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[speed]}"),
                TimeRemainingColumn(),
                console=console,
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(
                "train", total=total_steps, completed=start_step, epoch="-", speed=""
            )
        self._stream = stream
        self._lines = self._progress is None or not _is_terminal(stream)

    def __enter__(self) -> RunLogger:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def update(self, step: int, epoch: str, losses: Mapping[str, float]) -> None:
        """Advance the progress bar to ``step`` with the current losses (every step; cheap)."""
        if self._progress is None or self._task is None:
            return
        elapsed = time.perf_counter() - self._start_time
        speed = (step - self._start_step) / elapsed if elapsed > 0 else 0.0
        self._progress.losses = _losses_text(losses)
        self._progress.update(self._task, completed=step, epoch=epoch, speed=f"{speed:.2f} it/s")

    def log(
        self, step: int, epoch: int, losses: Mapping[str, float], lrs: Mapping[str, float]
    ) -> dict[str, Any]:
        """Append one metrics line (losses averaged since the last line) and the TensorBoard scalars;
        without a bar on the terminal, also the plain line ``step 40/400 (epoch 2/20)  g/gan 0.693 ...
        0.31 s/step  ETA 1m52s`` (``epoch`` is the number of completed epochs)."""
        now = time.perf_counter()
        steps = step - self._last_step
        record: dict[str, Any] = {
            "step": step,
            "epoch": epoch,
            "time": round(now - self._start_time, 3),
            "it_per_s": round(steps / (now - self._last_time), 4) if now > self._last_time else None,
            **{f"lr/{name}": lr for name, lr in lrs.items()},
            **{name: round(float(value), 6) for name, value in losses.items()},
        }
        self._metrics.write(json.dumps(record) + "\n")
        self._metrics.flush()
        if self._lines:
            self._write(self._plain_line(step, epoch, losses, now))
        if self._writer is not None:
            for name, value in losses.items():
                self._writer.add_scalar(f"loss/{name}", value, step)
            for name, lr in lrs.items():
                self._writer.add_scalar(f"lr/{name}", lr, step)
        self._last_time, self._last_step = now, step
        return record

    def _plain_line(self, step: int, epoch: int, losses: Mapping[str, float], now: float) -> str:
        interval = step - self._last_step
        per_step = (now - self._last_time) / interval if interval > 0 else math.nan
        done = step - self._start_step
        remaining = (self._total_steps - step) * (now - self._start_time) / done if done > 0 else math.nan
        epochs = (
            f" (epoch {min(epoch + 1, self._total_epochs)}/{self._total_epochs})"
            if self._total_epochs
            else ""
        )
        speed = f"{per_step:.3g} s/step" if math.isfinite(per_step) else "- s/step"
        return (
            f"step {step}/{self._total_steps}{epochs}  {_losses_text(losses)}  {speed}  "
            f"ETA {format_duration(remaining)}"
        )

    def _write(self, line: str) -> None:
        stream = self._stream if self._stream is not None else sys.stdout
        stream.write(line + "\n")
        stream.flush()

    def log_eval(self, step: int, metrics: Mapping[str, float]) -> None:
        """TensorBoard scalars of an evaluation (``eval/fid`` ...); the record itself is in ``eval.jsonl``."""
        if self._writer is not None:
            for name, value in metrics.items():
                self._writer.add_scalar(f"eval/{name}", value, step)

    def sample(self, step: int, columns: Mapping[str, Tensor]) -> Path:
        """Save the sample grid of ``step`` as ``samples/step_00001234.png``."""
        return save_sample_grid(self.run_dir.sample_grid(step), columns)

    def message(self, text: str) -> None:
        """Show a line: above the progress bar, and as a plain line where plain lines go."""
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False)
        if self._lines:
            self._write(text)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if not self._metrics.closed:
            self._metrics.close()


def _losses_text(losses: Mapping[str, float]) -> str:
    return " ".join(f"{name} {value:.3g}" for name, value in losses.items())


def _is_terminal(stream: TextIO | None) -> bool:
    stream = stream if stream is not None else sys.stdout
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def mean_losses(history: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """The per-name mean of a list of loss dicts (names missing from some entries average over the rest)."""
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for losses in history:
        for name, value in losses.items():
            sums[name] = sums.get(name, 0.0) + value
            counts[name] = counts.get(name, 0) + 1
    return {name: sums[name] / counts[name] for name in sums}
