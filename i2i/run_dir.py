"""The run directory: every path a training run writes, named in one place.

::

    RUN/recipe.yaml                                  the resolved recipe
    RUN/metrics.jsonl                                losses and learning rates, one JSON object a line
    RUN/eval.jsonl                                   evaluations during training (train.eval_every)
    RUN/samples/step_00001000.png                    sample grids
    RUN/tensorboard/                                 TensorBoard event files
    RUN/report.html, RUN/report/                     `i2i report` and its images
    RUN/checkpoints/step_00001000/weights.safetensors
    RUN/checkpoints/step_00001000/state.pt           optimizers, schedulers, pools, RNG (weights_only)
    RUN/checkpoints/last                             text: the name of the newest complete checkpoint
    RUN/checkpoints/best, best.json                  the best checkpoint by the evaluation metric

Nothing else in i2i spells these names: it asks a :class:`RunDir`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from i2i.files import TEMPORARY_GLOB

__all__ = ["STATE_FILE", "WEIGHTS_FILE", "RunDir", "RunDirError", "checkpoint_name", "checkpoint_step"]

WEIGHTS_FILE = "weights.safetensors"
"""The weights file of a checkpoint directory (also what a bare checkpoint directory is resolved to)."""
STATE_FILE = "state.pt"
"""The resume state of a checkpoint directory."""


class RunDirError(ValueError):
    """The output directory holds a run that this one must not continue, overwrite or share."""


def checkpoint_name(step: int) -> str:
    """Directory name of the checkpoint after ``step`` optimisation steps (``step_00001234``)."""
    return f"step_{step:08d}"


def checkpoint_step(name: str) -> int | None:
    """The step a checkpoint directory name holds (``step_00001234`` -> 1234); ``None`` for other names.

    Example:
        >>> checkpoint_step("step_00001234"), checkpoint_step("last")
        (1234, None)
    """
    prefix, _, digits = name.partition("_")
    return int(digits) if prefix == "step" and digits.isdigit() else None


@dataclass(frozen=True)
class RunDir:
    """The paths of one run directory (nothing is created until something is written).

    Example:
        >>> run = RunDir(Path("runs/facades"))
        >>> run.checkpoint(1000).relative_to(run.root).as_posix()
        'checkpoints/step_00001000'
    """

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def recipe(self) -> Path:
        return self.root / "recipe.yaml"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def eval_log(self) -> Path:
        return self.root / "eval.jsonl"

    @property
    def samples(self) -> Path:
        return self.root / "samples"

    @property
    def tensorboard(self) -> Path:
        return self.root / "tensorboard"

    @property
    def report(self) -> Path:
        return self.root / "report.html"

    @property
    def report_assets(self) -> Path:
        return self.root / "report"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def last_pointer(self) -> Path:
        return self.checkpoints / "last"

    @property
    def best_pointer(self) -> Path:
        return self.checkpoints / "best"

    @property
    def best_record(self) -> Path:
        return self.checkpoints / "best.json"

    @property
    def lock_file(self) -> Path:
        return self.root / ".lock"

    def checkpoint(self, step: int) -> Path:
        """The checkpoint directory after ``step`` optimisation steps."""
        return self.checkpoints / checkpoint_name(step)

    def sample_grid(self, step: int) -> Path:
        """The sample grid PNG written after ``step`` optimisation steps."""
        return self.samples / f"{checkpoint_name(step)}.png"

    def checkpoint_dirs(self) -> list[Path]:
        """Every checkpoint directory, oldest first (complete or not)."""
        return sorted(p for p in self.checkpoints.glob("step_*") if p.is_dir())

    def pointed(self, pointer: Path) -> Path | None:
        """The checkpoint directory a pointer file (``last``, ``best``) names, if it is complete."""
        if not pointer.is_file():
            return None
        named = self.checkpoints / pointer.read_text(encoding="utf-8").strip()
        return named if (named / WEIGHTS_FILE).is_file() else None

    def latest_checkpoint(self) -> Path | None:
        """The newest complete checkpoint directory (``None`` when there is none).

        Follows ``checkpoints/last``; falls back to the highest ``step_*`` directory that holds a
        weights file, so a run killed while writing the pointer still resumes.
        """
        named = self.pointed(self.last_pointer)
        if named is not None:
            return named
        complete = [p for p in self.checkpoint_dirs() if (p / WEIGHTS_FILE).is_file()]
        return complete[-1] if complete else None

    def reset(self) -> None:
        """Delete everything a run wrote except the recipe (``i2i train --no-resume --force``)."""
        for folder in (self.checkpoints, self.samples, self.tensorboard, self.report_assets):
            shutil.rmtree(folder, ignore_errors=True)
        for file in (self.metrics, self.eval_log, self.report):
            file.unlink(missing_ok=True)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the run directory for this process: a second ``i2i train`` on the same directory is
        refused with :class:`RunDirError` naming the holder's PID, instead of both runs interleaving
        their checkpoints and logs. The lock is the operating system's (``flock``), so a killed run
        holds nothing; on systems without ``fcntl`` the directory is not locked.
        """
        try:
            import fcntl
        except ImportError:  # Windows
            yield
            return
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.lock_file, "a+", encoding="utf-8") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                raise RunDirError(
                    f"{self.root}: another i2i train (PID {holder}) is using this run directory; "
                    "wait for it or choose another --out"
                ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def remove_temporaries(self) -> list[Path]:
        """Delete the temporary files a killed run left (``.recipe.yaml.*.tmp``,
        ``checkpoints/.last.*.tmp``, ...); call it while holding :meth:`locked`."""
        folders = [self.root, self.checkpoints, *self.checkpoint_dirs()]
        removed = [p for folder in folders if folder.is_dir() for p in folder.glob(TEMPORARY_GLOB)]
        for path in removed:
            path.unlink(missing_ok=True)
        return removed
