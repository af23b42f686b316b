"""Training: the loop around a method's step, checkpoints with exact resume, schedules and logging.

``train(recipe, out_dir)`` trains the method a recipe names into a run directory and returns a
:class:`TrainResult`; running it again into the same directory resumes from the last checkpoint.
"""

from __future__ import annotations

from i2i.train.checkpoint import load_checkpoint, save_checkpoint
from i2i.train.schedules import Plateau, Schedules, create_scheduler, lr_factor
from i2i.train.trainer import NonFiniteLossError, RunDirError, TrainResult, resolve_device, train

__all__ = [
    "NonFiniteLossError",
    "Plateau",
    "RunDirError",
    "Schedules",
    "TrainResult",
    "create_scheduler",
    "load_checkpoint",
    "lr_factor",
    "resolve_device",
    "save_checkpoint",
    "train",
]
