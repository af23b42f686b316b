"""Each method owns its recipe section: defaults equal its constructor's, and a new method is one file.

The toy method below is a whole method as a user (or the next i2i method) writes it: its class, its
recipe section with defaults, its builder; nothing in i2i.config or the trainer names it, yet a recipe
for it validates, trains, checkpoints and resumes.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch
from pydantic import Field
from torch import Tensor, nn

from i2i.card import ModelCard, describe_generator
from i2i.config import RecipeError, recipe_type, validate_recipe
from i2i.losses import l1_loss
from i2i.methods import METHODS, Batch, Method, MethodSection, StepOutput, create_method, method_class
from i2i.methods.base import OptimizerSettings, network_kwargs, recipe_kwargs
from i2i.nn import GENERATORS
from i2i.train import train


@pytest.mark.parametrize("name", METHODS.names())
def test_section_defaults_equal_the_constructor_defaults(name: str) -> None:
    cls = method_class(name)
    parameters = inspect.signature(cls.__init__).parameters
    section = cls.recipe_section.model_fields
    shared = [key for key in section if key in parameters]
    assert shared, f"{name}: the section shares no key with the constructor"
    for key in shared:
        assert section[key].default == parameters[key].default, f"{name}: {key}"
    assert recipe_type(name).model_fields["model"].annotation.model_fields.keys() >= section.keys()


class ToySection(MethodSection):
    """The toy's own ``model:`` key."""

    lambda_toy: float = Field(default=1.0, ge=0.0)


class Toy(Method):
    """Regression to the target with L1 only: no discriminator (a method needs no GAN)."""

    method_name = "toy"
    recipe_section = ToySection
    recipe_defaults: ClassVar[dict[str, Any]] = {
        "data": {"layout": "synthetic_paired", "load_size": 32, "crop_size": 32, "synthetic_size": 32},
        "model": {
            "generator": {"name": "resnet_6blocks", "norm": "instance", "dropout": 0.0},
            "discriminator": {"norm": "instance"},  # the shared section asks for one; the toy ignores it
            "gan_mode": "lsgan",
        },
    }
    recipe_layouts = "paired"

    def __init__(
        self, *, generator_kwargs: dict[str, Any], lambda_toy: float = 1.0, lr: float = 2e-4
    ) -> None:
        super().__init__(gan_mode="lsgan")
        self.lambda_toy = lambda_toy
        self.generator_kwargs = network_kwargs(GENERATORS.get("resnet_6blocks"), generator_kwargs)
        self.generator = GENERATORS.build("resnet_6blocks", **self.generator_kwargs)
        self.build_optimizers(OptimizerSettings("adam", lr))

    def optimizer_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"g": list(self.generator.parameters())}

    def training_step(self, batch: Batch) -> StepOutput:
        fake_b = self.generator(batch.a)
        loss = self.lambda_toy * l1_loss(fake_b, batch.b)
        self.step(self.optimizers["g"], loss)
        self.steps_done += 1
        return StepOutput(losses={"g/l1": loss}, images={"fake_b": fake_b}).detached()

    def model_cards(self, *, recipe: str = "", crop_size: int | None = None) -> list[ModelCard]:
        return [
            describe_generator(
                self.generator,
                arch="resnet_6blocks",
                kwargs=self.generator_kwargs,
                method="toy",
                recipe=recipe,
                crop_size=crop_size,
                key_prefix="generator.",
            )
        ]

    @torch.no_grad()
    def sample(self, batch: Batch) -> dict[str, Tensor]:
        return {"input": batch.a, "output": self.generator(batch.a), "target": batch.b}


def toy(*, recipe: Any) -> Toy:
    return Toy(
        generator_kwargs=recipe_kwargs(recipe)["generator_kwargs"],
        lambda_toy=recipe.model.lambda_toy,
        lr=recipe.train.lr,
    )


@pytest.mark.slow
def test_a_new_method_is_one_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(METHODS._builders, "toy", toy)
    raw = {
        "method": "toy",
        "name": "toy",
        "model": {"lambda_toy": 2.0, "generator": {"base_channels": 4}},
        "train": {"max_steps": 3, "batch_size": 2, "sample_every": 2, "checkpoint_every": 2, "device": "cpu"},
        "data": {"num_workers": 0, "synthetic_count": 8},
    }
    recipe = validate_recipe(raw)
    assert recipe.model.lambda_toy == 2.0 and recipe.data.layout == "synthetic_paired"
    assert isinstance(create_method(recipe), Toy)
    with pytest.raises(RecipeError, match=r"data\.layout: toy needs one of aligned"):
        validate_recipe({**raw, "data": {"layout": "unaligned"}})
    with pytest.raises(RecipeError, match=r"model\.lambda_tyo: unknown key"):
        validate_recipe({**raw, "model": {"lambda_tyo": 1.0}})
    whole = train(recipe, tmp_path / "whole", progress=False)
    split_recipe = validate_recipe({**raw, "train": {**raw["train"], "max_steps": 2}})
    train(split_recipe, tmp_path / "split", progress=False)
    resumed = train(recipe, tmp_path / "split", progress=False)
    assert whole.step == resumed.step == 3 and resumed.resumed_from is not None
    assert whole.losses == resumed.losses  # exact resume, with nothing in the trainer for the toy
