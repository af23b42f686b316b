"""Evaluation during training (``train.eval_every``): the evaluator the trainer is handed.

The trainer knows no metric: :func:`training_evaluator` builds, from a recipe, the callable that
:func:`i2i.train.train` calls every ``eval_every`` steps (see :class:`i2i.train.trainer.Evaluator`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from i2i.card import ModelCard
from i2i.metrics.evaluate import evaluate_run, training_inception
from i2i.metrics.inception import InceptionWeightsError

__all__ = ["training_evaluator"]


def training_evaluator(recipe: Any, device: str = "cpu") -> Any:
    """The evaluator of ``recipe.train`` (metric, images per evaluation, Inception weights).

    The FID Inception network is loaded here, before training starts, when ``eval_metric`` is FID /
    KID (a missing weights file fails at once rather than after the first ``eval_every`` steps) or
    when the weights are at hand; without them the evaluations score PSNR / SSIM / L1 and say that
    FID / KID were skipped (see :func:`i2i.metrics.evaluate.training_inception`).

    Returns:
        A callable ``(run_dir, generator, card, *, step, checkpoint, device) -> (metrics, is_best)``
        that appends to ``RUN/eval.jsonl`` and moves the ``best`` pointer (see
        :func:`i2i.metrics.evaluate.evaluate_run`).
    """
    t = recipe.train
    try:
        inception = training_inception(t.eval_metric, t.inception_weights, device=device)
    except InceptionWeightsError as error:
        raise InceptionWeightsError(
            f"train.eval_metric {t.eval_metric}: {error} (or score with train.eval_metric=psnr, ssim or l1, "
            "which need no weights)"
        ) from None

    def evaluate(
        run_dir: Path,
        generator: nn.Module,
        card: ModelCard,
        *,
        step: int,
        checkpoint: str | None,
        device: str,
    ) -> tuple[dict[str, float], bool]:
        result, is_best = evaluate_run(
            run_dir,
            generator,
            card,
            step=step,
            checkpoint=checkpoint,
            metric=t.eval_metric,
            inception=inception,
            max_images=t.eval_max_images,
            device=device,
        )
        return result.metrics(), is_best

    return evaluate
