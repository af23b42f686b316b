"""Colorization end to end: a short training beats the no-colour baseline, and the saved, exported and
translated model takes RGB (or gray) photos and gives RGB photos with their lightness."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from i2i.cli import app
from i2i.config import load_recipe
from i2i.data import Geometry, build_dataset, synthetic_pair
from i2i.data.io import read_image, write_image
from i2i.nn.color import rgb_to_lab_image
from i2i.train import train
from i2i.weights import load_generator

TINY = [
    "data.synthetic_size=32",
    "data.load_size=32",
    "data.crop_size=32",
    "data.synthetic_count=32",
    "model.generator.base_channels=8",
    "model.discriminator.base_channels=8",
    "model.discriminator.num_layers=2",
    "train.batch_size=4",
    "train.lr=1e-3",
    "train.epochs=20",
    "train.epochs_decay=0",
    "train.sample_every=1000",
    "train.checkpoint_every=1000",
    "train.log_every=1000",
    "train.device=cpu",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """demo_colorization, shrunk: 160 steps on 32 built-in 32 px scenes."""
    out = tmp_path_factory.mktemp("colorization")
    train(load_recipe("demo_colorization", TINY), out, progress=False)
    return out


@pytest.mark.slow
def test_a_short_training_beats_predicting_no_colour(run: Path) -> None:
    recipe = load_recipe("demo_colorization", TINY)
    generator, card = load_generator(run)
    assert (card.arch, card.in_channels, card.out_channels, card.method) == ("colorize", 3, 3, "colorization")
    geometry = Geometry(train=False, load_size=32, crop_size=32, preprocess="none", flip=False)
    test = build_dataset(
        "synthetic_colorization", "", "test", geometry, synthetic_size=32, synthetic_count=16
    )
    light = torch.stack([test[i]["a"] for i in range(16)])  # type: ignore[misc]
    colour = torch.stack([test[i]["b"] for i in range(16)])  # type: ignore[misc]
    with torch.no_grad():
        predicted = generator.net(light)  # type: ignore[operator]
    error, baseline = (predicted - colour).abs().mean().item(), colour.abs().mean().item()
    print(f"colour L1 {error:.4f} vs {baseline:.4f} predicting no colour ({recipe.name})")
    # measured 0.060 vs 0.072 on the CPU: 17 % below the no-colour error after 160 steps
    assert error < 0.9 * baseline


@pytest.mark.slow
def test_export_and_translate_give_rgb_photos_with_the_inputs_lightness(run: Path, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    for i in range(3):
        write_image(photos / f"{i}.png", synthetic_pair(i, 32, split="test")[1])  # colour photos
    gray = np.repeat(
        synthetic_pair(3, 32, split="test")[1].mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2
    )
    write_image(photos / "gray.png", gray[..., 0])  # a one-channel photo
    runner = CliRunner()
    onnx = tmp_path / "colorize.onnx"
    exported = runner.invoke(app, ["export", str(run), "--out", str(onnx)])
    assert exported.exit_code == 0, exported.output
    for model in (onnx, run):
        out = tmp_path / f"out-{model.suffix or 'run'}"
        result = runner.invoke(
            app, ["translate", str(photos), "--model", str(model), "--out", str(out), "--no-progress"]
        )
        assert result.exit_code == 0, result.output
        coloured = read_image(out / "gray.png")
        assert coloured.shape == (32, 32, 3)
        assert np.abs(coloured.astype(int) - coloured.mean(axis=2, keepdims=True)).max() > 10  # not gray
        as_tensor = lambda image: torch.from_numpy(image).permute(2, 0, 1).float() / 127.5 - 1  # noqa: E731
        l_in, l_out = rgb_to_lab_image(as_tensor(gray))[0], rgb_to_lab_image(as_tensor(coloured))[0]
        assert (l_in - l_out).abs().mean().item() * 50 < 1.5  # mean lightness error under 1.5 L units


@pytest.mark.slow
def test_eval_scores_the_photos_and_the_trained_model_beats_no_colour(run: Path) -> None:
    # `i2i eval` used to stop with "fake (16, 3, 64, 64) and real (16, 2, 64, 64) differ in shape": it
    # compared the RGB output with the colour channels of the training pairs. A colorizer is scored on
    # the photos: the photo in (only its lightness is used), the same photo as the target.
    from i2i.infer.torch_backend import TorchBackend
    from i2i.metrics.evaluate import evaluate

    trained = evaluate(run, metrics=["psnr", "ssim", "l1"], device="cpu")
    generator, card = load_generator(run)
    last = [m for m in generator.net.modules() if isinstance(m, torch.nn.Conv2d)][-1]  # type: ignore[union-attr]
    with torch.no_grad():  # tanh(0) = 0: no colour, a gray photo with the input's lightness
        last.weight.zero_()
        if last.bias is not None:
            last.bias.zero_()
    gray = evaluate(TorchBackend(generator, card, device="cpu"), metrics=["psnr", "ssim", "l1"], device="cpu")
    assert trained.num_translated == gray.num_translated == trained.num_real > 0
    assert (
        trained.psnr is not None and gray.psnr is not None and trained.l1 is not None and gray.l1 is not None
    )
    print(
        f"colorization eval: PSNR {trained.psnr:.2f} dB vs {gray.psnr:.2f} dB gray, L1 {trained.l1:.4f} vs {gray.l1:.4f}"
    )
    assert trained.l1 < gray.l1 and trained.psnr > gray.psnr
    assert gray.psnr > 15  # the lightness is kept: far better than chance even without colour


def test_colorization_recipes_may_evaluate_during_training() -> None:
    # train.eval_every was refused ("not available for colorization yet") because the evaluation could not
    # score a colorizer; it scores the photos now (see the test above).
    recipe = load_recipe("demo_colorization", [*TINY, "train.eval_every=10", "train.eval_metric=psnr"])
    assert recipe.train.eval_every == 10
