"""Fine-tuning (``model.init_from`` / ``--init-from``): exact start, discriminators, direction matching,
reference ``.pth`` files, architecture mismatches named in one line, and resume without re-initialising."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from i2i.cli import app
from i2i.config import Recipe
from i2i.finetune import InitError, initialise_from
from i2i.launch import run_training
from i2i.methods import create_method
from i2i.train import train
from i2i.weights import save_weights

TinyRecipe = Callable[..., Recipe]
FIXTURES = Path(__file__).parents[1] / "fixtures" / "reference"
MANIFEST: dict[str, dict[str, Any]] = json.loads((FIXTURES / "manifest.json").read_text())


@pytest.fixture
def source_run(tiny_recipe: TinyRecipe, tmp_path: Path) -> Path:
    """A 2-step tiny pix2pix run to start from."""
    train(tiny_recipe("demo_pix2pix", "train.max_steps=2"), tmp_path / "source", progress=False)
    return tmp_path / "source"


def _last_weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(
        str(run / "checkpoints" / (run / "checkpoints" / "last").read_text().strip() / "weights.safetensors")
    )


def test_a_new_method_starts_exactly_from_a_runs_networks(tiny_recipe: TinyRecipe, source_run: Path) -> None:
    method = create_method(tiny_recipe("demo_pix2pix", "train.seed=7"))
    note = initialise_from(method, source_run)
    assert note == f"initialised generator, discriminator from {source_run}"
    expected = _last_weights(source_run)
    actual = {f"{n}.{k}": v for n, net in method.networks().items() for k, v in net.state_dict().items()}
    assert expected.keys() == actual.keys()
    assert [k for k in expected if not torch.equal(expected[k], actual[k])] == []


def test_training_starts_from_the_weights_and_resume_does_not_reinitialise(
    tiny_recipe: TinyRecipe, source_run: Path, tmp_path: Path
) -> None:
    start = ["train.lr=1e-12", f"model.init_from={source_run}"]  # a step that barely moves the weights
    first = run_training(
        tiny_recipe("demo_pix2pix", *start, "train.max_steps=1"), tmp_path / "ft", progress=False
    )
    assert first.checkpoint is not None
    source, tuned = _last_weights(source_run), load_file(str(first.checkpoint / "weights.safetensors"))
    weights = [k for k in source if k.endswith("weight") and source[k].dim() == 4]  # convolutions
    assert all(torch.allclose(source[k], tuned[k], atol=1e-9) for k in weights)
    assert "init_from" in (tmp_path / "ft" / "recipe.yaml").read_text()
    # resumed to 3 steps == 3 steps straight: the resume loaded its checkpoint, not the source again
    resumed = run_training(
        tiny_recipe("demo_pix2pix", *start, "train.max_steps=3"), tmp_path / "ft", progress=False
    )
    whole = run_training(
        tiny_recipe("demo_pix2pix", *start, "train.max_steps=3"), tmp_path / "w", progress=False
    )
    assert resumed.resumed_from == first.checkpoint and resumed.step == 3
    a = load_file(str(resumed.checkpoint / "weights.safetensors"))  # type: ignore[operator]
    b = load_file(str(whole.checkpoint / "weights.safetensors"))  # type: ignore[operator]
    assert [k for k in a if not torch.equal(a[k], b[k])] == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("model.generator.base_channels=8", "base_channels 8 in the recipe, 4 in the weights"),
        ("model.generator.norm=instance", "norm instance in the recipe, batch in the weights"),
        ("model.generator.name=resnet_9blocks", "generator resnet_9blocks in the recipe, resnet_6blocks"),
    ],
)
def test_an_architecture_mismatch_is_one_line_naming_the_difference(
    tiny_recipe: TinyRecipe, source_run: Path, change: str, message: str
) -> None:
    with pytest.raises(InitError, match=message):
        initialise_from(create_method(tiny_recipe("demo_pix2pix", change)), source_run)


def test_the_cli_reports_a_mismatch_in_one_line(
    source_run: Path, tiny_overrides: list[str], tmp_path: Path
) -> None:
    args = [
        "train",
        "demo_pix2pix",
        "--out",
        str(tmp_path / "x"),
        "--init-from",
        str(source_run),
        "--no-progress",
    ]
    sets = [a for o in [*tiny_overrides, "model.generator.base_channels=8"] for a in ("--set", o)]
    result = CliRunner().invoke(app, [*args, *sets])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "base_channels 8 in the recipe" in result.output


def test_a_lone_generator_file_is_matched_by_direction(tiny_recipe: TinyRecipe, tmp_path: Path) -> None:
    cyclegan = create_method(tiny_recipe("demo_cyclegan"))
    card = cyclegan.model_cards()[1].replace(key_prefix="")  # the b2a generator, as a file of its own
    weights = {
        k: torch.randn_like(v) if v.is_floating_point() else v for k, v in cyclegan.g_ba.state_dict().items()
    }
    save_weights(tmp_path / "b2a.safetensors", weights, [card])
    target = create_method(tiny_recipe("demo_cyclegan", "train.seed=3"))
    before = {k: v.clone() for k, v in target.g_ab.state_dict().items()}
    assert initialise_from(target, tmp_path / "b2a.safetensors").startswith("initialised g_ba from")
    assert all(torch.equal(weights[k], v) for k, v in target.g_ba.state_dict().items())
    assert all(torch.equal(before[k], v) for k, v in target.g_ab.state_dict().items())  # untouched


def test_a_reference_pth_initialises_the_a2b_generator(tiny_recipe: TinyRecipe) -> None:
    entry = MANIFEST["resnet_9blocks"]
    sets = ["model.generator.name=resnet_9blocks", f"model.generator.base_channels={entry['base_channels']}"]
    method = create_method(tiny_recipe("demo_cyclegan", *sets))
    assert initialise_from(method, FIXTURES / entry["file"]).startswith("initialised g_ab from")
    io = load_file(FIXTURES / entry["io"])
    with torch.no_grad():
        assert (method.g_ab.eval()(io["input"]) - io["output"]).abs().max().item() < 1e-5
    narrow = create_method(tiny_recipe("demo_cyclegan", "model.generator.name=resnet_9blocks"))
    with pytest.raises(InitError, match="base_channels 4 in the recipe, 8 in the weights"):
        initialise_from(narrow, FIXTURES / entry["file"])
