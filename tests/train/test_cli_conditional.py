"""``i2i train`` runs every cgan and stargan recipe for a few steps on the CPU (shrunk networks)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from i2i.cli import app
from i2i.config import load_recipe
from i2i.data import write_image

SMALL = [
    "model.generator.base_channels=4",
    "model.discriminator.base_channels=4",
    "train.batch_size=4",
    "train.max_steps=2",
    "train.sample_every=2",
    "train.num_samples=2",
    "train.device=cpu",
    "data.num_workers=0",
]


def _idx(path: Path, magic: int, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    )


def _fake_torchvision(root: Path, folder: str) -> None:
    """Eight 28 px images in torchvision's raw MNIST format (no download)."""
    rng = np.random.default_rng(0)
    for prefix in ("train", "t10k"):
        _idx(
            root / folder / "raw" / f"{prefix}-images-idx3-ubyte",
            0x803,
            rng.integers(0, 256, (8, 28, 28), np.uint8),
        )
        _idx(root / folder / "raw" / f"{prefix}-labels-idx1-ubyte", 0x801, np.arange(8, dtype=np.uint8))


def _fake_horse2zebra(root: Path) -> None:
    rng = np.random.default_rng(0)
    for side in ("trainA", "trainB"):
        for i in range(3):
            write_image(root / side / f"{i}.png", rng.integers(0, 256, (72, 72, 3), np.uint8))


RECIPES = {
    "demo_cgan": ["data.synthetic_count=16"],
    "demo_wgan_digits": ["data.synthetic_count=16"],
    "mnist_cgan": [],
    "fashion_mnist_cgan": [],
    "demo_stargan": ["data.synthetic_count=12", "model.discriminator.num_layers=2"],
    "horse2zebra_stargan": ["data.load_size=72", "data.crop_size=64"],
}


@pytest.mark.parametrize("name", list(RECIPES))
def test_train_runs_the_recipe(name: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    extra = list(RECIPES[name])
    if name == "mnist_cgan":
        _fake_torchvision(data, "MNIST")
    elif name == "fashion_mnist_cgan":
        _fake_torchvision(data, "FashionMNIST")
    elif name == "horse2zebra_stargan":
        _fake_horse2zebra(data)
    if name in ("mnist_cgan", "fashion_mnist_cgan", "horse2zebra_stargan"):
        extra.append(f"data.root={data}")
    overrides = [arg for item in [*SMALL, *extra] for arg in ("--set", item)]
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", name, "--out", str(out), *overrides, "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "trained 2 steps" in result.output
    assert (out / "checkpoints" / "last").read_text().strip() == "step_00000002"
    assert (out / "samples" / "step_00000002.png").is_file()
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert lines and "d" in lines[-1]


@pytest.mark.parametrize("name", list(RECIPES))
def test_recipe_validates_with_the_papers_settings(name: str) -> None:
    recipe = load_recipe(name)
    if recipe.method == "stargan":
        assert (recipe.model.lambda_rec, recipe.model.lambda_cls, recipe.model.lambda_gp) == (10.0, 1.0, 10.0)
        assert (recipe.model.gan_mode, recipe.train.n_critic) == ("wgangp", 5)
    else:
        assert recipe.method == "cgan" and recipe.data.crop_size == 32
    if name == "demo_wgan_digits":
        assert (recipe.model.clip_value, recipe.train.optimizer, recipe.train.n_critic) == (
            0.01,
            "rmsprop",
            5,
        )
