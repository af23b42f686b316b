"""Start a training run: one process or ``devices`` processes, with evaluation during training and
fine-tuning's weight loading wired in.

This is where the trainer meets the evaluator (:mod:`i2i.train` knows no metric, :mod:`i2i.metrics`
knows no loop) and :func:`i2i.finetune.initialise_from` (the loop converts no weights), and where ``i2i train --devices N`` starts its processes through the elastic launcher
(:func:`i2i.train.distributed.launch`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from i2i.train.distributed import launch
from i2i.train.trainer import TrainResult, resolve_device, train

__all__ = ["run_training"]


def run_training(
    recipe: Any,
    out_dir: Path,
    *,
    devices: int = 1,
    resume: bool = True,
    force: bool = False,
    progress: bool = True,
) -> TrainResult:
    """:func:`i2i.train.train` of ``recipe`` into ``out_dir`` with the recipe's evaluator, in ``devices``
    processes on this machine (DDP, one per GPU) when ``devices`` > 1.

    Returns:
        The :class:`~i2i.train.TrainResult` (rank 0's with several processes).
    """
    if devices > 1:
        result: TrainResult = launch(
            _train_process, (recipe, str(out_dir), resume, force, progress), nproc=devices
        )
        return result
    return _train_process(recipe, str(out_dir), resume, force, progress)


def _train_process(recipe: Any, out_dir: str, resume: bool, force: bool, progress: bool) -> TrainResult:
    """One process of a run (module level, so the launcher can start it by name)."""
    evaluator = None
    if recipe.train.eval_every is not None:
        from i2i.metrics.training import training_evaluator

        evaluator = training_evaluator(recipe, device=str(resolve_device(recipe.train.device)))
    from i2i.finetune import initialise_from

    return train(
        recipe,
        Path(out_dir),
        resume=resume,
        force=force,
        progress=progress,
        evaluator=evaluator,
        initialiser=initialise_from,
    )
