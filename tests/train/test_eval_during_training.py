"""train.eval_every: metrics on the test split during training, a 'best' checkpoint beside 'last'."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from i2i.config import Recipe
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
    evaluated = train(tiny_recipe("demo_pix2pix", *steps, *EVAL), tmp_path / "eval", progress=False)

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


def test_evaluation_without_inception_weights_scores_the_paired_metrics(
    tiny_recipe: TinyRecipe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("I2I_CACHE", str(tmp_path / "empty_cache"))
    monkeypatch.delenv("I2I_INCEPTION_WEIGHTS", raising=False)

    def no_network(*args: object, **kwargs: object) -> None:
        raise OSError("network is unreachable")

    monkeypatch.setattr("i2i.metrics.inception._download", no_network)
    evaluation = ["train.eval_every=2", "train.eval_metric=psnr", "train.eval_max_images=2"]
    train(tiny_recipe("demo_pix2pix", "train.max_steps=2", *evaluation), tmp_path / "run", progress=False)
    (record,) = [json.loads(line) for line in (tmp_path / "run" / "eval.jsonl").read_text().splitlines()]
    assert {"psnr", "ssim", "l1"} <= record.keys() and "fid" not in record and record["num_images"] == 2
