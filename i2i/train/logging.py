"""What a run reports: metrics.jsonl, TensorBoard scalars, a rich progress bar and sample grids."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from torch import Tensor
from torchvision.utils import make_grid, save_image

from i2i.files import atomic_path, write_text_atomic
from i2i.run_dir import RunDir

__all__ = [
    "RunLogger",
    "mean_losses",
    "save_sample_grid",
    "truncate_metrics",
]


def save_sample_grid(path: Path, columns: Mapping[str, Tensor]) -> Path:
    """Save a PNG grid: one row per sample, one column per entry of ``columns`` (input | output | target).

    Args:
        path: Destination ``.png`` file, written atomically.
        columns: Name -> ``(N, C, H, W)`` images in [-1, 1]; 1-channel images are shown gray, the alpha
            channel of 4-channel images is dropped. All entries share N, H and W.
    """
    images = [_as_rgb(t.detach().float().cpu()) for t in columns.values()]  # each (N, 3, H, W)
    tiles = torch.stack(images, dim=1).flatten(0, 1)  # (N * columns, 3, H, W), row-major
    grid = make_grid((tiles + 1) / 2, nrow=len(images), padding=2, pad_value=1.0)
    path = Path(path)
    with atomic_path(path) as tmp:
        save_image(grid, tmp, format="png")
    return path


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


class RunLogger:
    """Logs a run: one JSON line per log step, TensorBoard scalars, an optional progress bar.

    Args:
        run_dir: The run directory (``metrics.jsonl``, ``tensorboard/`` and ``samples/`` go there).
        total_steps: Steps the run will make in all (for the bar and the ETA).
        start_step: Step the run starts (or resumes) at.
        progress: Show a rich progress bar on stderr.
        tensorboard: Write TensorBoard event files.
    """

    def __init__(
        self,
        run_dir: Path,
        *,
        total_steps: int,
        start_step: int = 0,
        progress: bool = True,
        tensorboard: bool = True,
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
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        if progress:
            self._progress = Progress(
                TextColumn("[bold]epoch {task.fields[epoch]}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[speed]}"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[losses]}"),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(
                "train", total=total_steps, completed=start_step, epoch="-", speed="", losses=""
            )

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
        text = " ".join(f"{name} {value:.3g}" for name, value in losses.items())
        self._progress.update(self._task, completed=step, epoch=epoch, speed=f"{speed:.2f} it/s", losses=text)

    def log(
        self, step: int, epoch: int, losses: Mapping[str, float], lrs: Mapping[str, float]
    ) -> dict[str, Any]:
        """Append one metrics line (losses averaged since the last line) and the TensorBoard scalars."""
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
        if self._writer is not None:
            for name, value in losses.items():
                self._writer.add_scalar(f"loss/{name}", value, step)
            for name, lr in lrs.items():
                self._writer.add_scalar(f"lr/{name}", lr, step)
        self._last_time, self._last_step = now, step
        return record

    def log_eval(self, step: int, metrics: Mapping[str, float]) -> None:
        """TensorBoard scalars of an evaluation (``eval/fid`` ...); the record itself is in ``eval.jsonl``."""
        if self._writer is not None:
            for name, value in metrics.items():
                self._writer.add_scalar(f"eval/{name}", value, step)

    def sample(self, step: int, columns: Mapping[str, Tensor]) -> Path:
        """Save the sample grid of ``step`` as ``samples/step_00001234.png``."""
        return save_sample_grid(self.run_dir.sample_grid(step), columns)

    def message(self, text: str) -> None:
        """Show a line above the progress bar (nothing without one)."""
        if self._progress is not None:
            self._progress.console.print(text)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if not self._metrics.closed:
            self._metrics.close()


def mean_losses(history: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """The per-name mean of a list of loss dicts (names missing from some entries average over the rest)."""
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for losses in history:
        for name, value in losses.items():
            sums[name] = sums.get(name, 0.0) + value
            counts[name] = counts.get(name, 0) + 1
    return {name: sums[name] / counts[name] for name in sums}
