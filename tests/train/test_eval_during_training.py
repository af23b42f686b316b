"""train.eval_every: metrics on the test split during training, a 'best' checkpoint beside 'last'."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from i2i.config import Recipe
from i2i.launch import run_training
from i2i.train import train

TinyRecipe = Callable[..., Recipe]
# Random Inception weights: the numbers mean nothing, but every code path of the real metric runs.
EVAL = [
    "train.eval_every=2",
    "train.eval_metric=l1",
    "train.eval_max_images=4",
    "train.inception_weights=random",
]


@pytest.mark.slow
def test_evaluation_keeps_the_best_checkpoint_and_does_not_change_training(
    tiny_recipe: TinyRecipe, tmp_path: Path
) -> None:
    steps = ["train.max_steps=6", "train.checkpoint_every=100", "train.keep_checkpoints=1"]
    plain = train(tiny_recipe("demo_pix2pix", *steps), tmp_path / "plain", progress=False)
    evaluated = run_training(tiny_recipe("demo_pix2pix", *steps, *EVAL), tmp_path / "eval", progress=False)

    records = [json.loads(line) for line in (tmp_path / "eval" / "eval.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4, 6]
    assert all(r["num_images"] == 4 and {"fid", "kid", "psnr", "ssim", "l1"} <= r.keys() for r in records)

    checkpoints = tmp_path / "eval" / "checkpoints"
    best = json.loads((checkpoints / "best.json").read_text())
    assert best["metric"] == "l1" and best["value"] == min(r["l1"] for r in records)
    assert (checkpoints / "best").read_text().strip() == best["checkpoint"]
    # keep_checkpoints=1 prunes everything but what 'last' and 'best' name
    kept = {p.name for p in checkpoints.glob("step_*")}
    assert kept == {best["checkpoint"], "step_00000006"}

    # evaluation restores the RNG states and train mode: the weights equal those of a run without it
    assert plain.checkpoint is not None and evaluated.checkpoint is not None
    a = load_file(str(plain.checkpoint / "weights.safetensors"))
    b = load_file(str(evaluated.checkpoint / "weights.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_forced_fresh_start_drops_the_old_runs_evaluations(tiny_recipe: TinyRecipe, tmp_path: Path) -> None:
    """`i2i train --no-resume --force` used to leave eval.jsonl behind: `i2i report` then plotted the old
    run's evaluations as the new run's."""
    run_training(tiny_recipe("demo_pix2pix", "train.max_steps=2", *EVAL), tmp_path, progress=False)
    assert (tmp_path / "eval.jsonl").is_file() and (tmp_path / "checkpoints" / "best").is_file()
    train(
        tiny_recipe("demo_pix2pix", "train.max_steps=1"), tmp_path, resume=False, force=True, progress=False
    )
    assert not (tmp_path / "eval.jsonl").exists()
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["last", "step_00000001"]


def test_the_trainer_asks_for_an_evaluator_instead_of_knowing_metrics(
    tiny_recipe: TinyRecipe, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=r"train\.eval_every: evaluation during training needs an evaluator"):
        train(tiny_recipe("demo_pix2pix", "train.max_steps=1", *EVAL), tmp_path, progress=False)
    seen: list[tuple[int, str | None]] = []

    def evaluator(
        run_dir: Path, generator: Any, card: Any, *, step: int, checkpoint: str | None, device: str
    ):
        seen.append((step, checkpoint))
        assert card.key_prefix == "generator." and generator is not None and run_dir == tmp_path
        return {"l1": 1.0 / step}, True

    steps = ["train.max_steps=4", "train.eval_every=2"]
    train(tiny_recipe("demo_pix2pix", *steps), tmp_path, progress=False, evaluator=evaluator)
    assert seen == [(2, "step_00000002"), (4, "step_00000004")]


def test_evaluation_without_inception_weights_scores_the_paired_metrics(
    tiny_recipe: TinyRecipe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("I2I_CACHE", str(tmp_path / "empty_cache"))
    monkeypatch.delenv("I2I_INCEPTION_WEIGHTS", raising=False)

    def no_network(*args: object, **kwargs: object) -> None:
        raise OSError("network is unreachable")

    monkeypatch.setattr("i2i.metrics.inception._download", no_network)
    evaluation = ["train.eval_every=2", "train.eval_metric=psnr", "train.eval_max_images=2"]
    run_training(
        tiny_recipe("demo_pix2pix", "train.max_steps=2", *evaluation), tmp_path / "run", progress=False
    )
    (record,) = [json.loads(line) for line in (tmp_path / "run" / "eval.jsonl").read_text().splitlines()]
    assert {"psnr", "ssim", "l1"} <= record.keys() and "fid" not in record and record["num_images"] == 2


def test_plateau_on_eval_steps_at_each_evaluation_in_the_metrics_direction(
    tiny_recipe: TinyRecipe, tmp_path: Path
) -> None:
    scores = iter([20.0, 25.0, 24.0, 26.0])  # PSNR, higher is better: the third one is a plateau

    def evaluator(run_dir: Path, generator: Any, card: Any, **kwargs: Any) -> tuple[dict[str, float], bool]:
        return {"psnr": next(scores)}, False

    recipe = tiny_recipe(
        "demo_pix2pix",
        "train.max_steps=8",
        "train.eval_every=2",
        "train.eval_metric=psnr",
        "train.schedule=plateau",
        "train.plateau_metric=eval",
        "train.plateau_patience=0",
        "train.plateau_factor=0.5",
    )
    train(recipe, tmp_path, progress=False, evaluator=evaluator)
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    # logged before the evaluation of the same step: the halving after step 6 shows from step 7 on
    assert [line["lr/g"] for line in lines] == pytest.approx([2e-4] * 6 + [1e-4] * 2)
