"""GAN objectives declare what the rest of i2i asks of them; methods, recipes and the trainer read the flags."""

from __future__ import annotations

import pytest
import torch

from i2i.config import RecipeError, validate_recipe
from i2i.losses import GAN_MODES, discriminator_loss, gan_objective
from i2i.methods import Pix2Pix
from i2i.train.accelerate import FastPaths, apply_fast_paths, is_compiled


def test_the_flags_of_the_registered_objectives() -> None:
    flags = {
        name: (o.discriminator_scale, o.gradient_penalty, o.needs_lipschitz, o.compilable)
        for name in GAN_MODES.names()
        for o in [gan_objective(name)]
    }
    assert flags == {
        "hinge": (1.0, False, False, True),
        "lsgan": (0.5, False, False, True),  # the reference's 0.5 on D
        "vanilla": (0.5, False, False, True),
        "wgan": (1.0, False, True, True),
        "wgangp": (1.0, True, False, False),
    }


@pytest.mark.parametrize("mode", GAN_MODES.names())
def test_the_discriminator_loss_follows_the_objective(mode: str) -> None:
    torch.manual_seed(0)
    method = Pix2Pix(
        generator="unet_128",
        generator_kwargs={"base_channels": 2},
        discriminator_kwargs={"base_channels": 2, "num_layers": 1},
        gan_mode=mode,
    )
    real, fake = torch.rand(2, 6, 16, 16) * 2 - 1, torch.rand(2, 6, 16, 16) * 2 - 1
    objective = gan_objective(mode)
    losses = method.discriminator_loss(method.discriminator, real, fake)
    raw = discriminator_loss(method.discriminator(real), method.discriminator(fake), mode)
    assert ("d/gp" in losses) == objective.gradient_penalty
    penalty = method.lambda_gp * losses["d/gp"] if objective.gradient_penalty else 0.0
    torch.testing.assert_close(losses["d"], objective.discriminator_scale * raw + penalty)


@pytest.mark.parametrize("mode", GAN_MODES.names())
def test_recipes_demand_a_lipschitz_constraint_where_the_objective_needs_one(mode: str) -> None:
    raw = {"method": "pix2pix", "name": "x", "model": {"gan_mode": mode}}
    if not gan_objective(mode).needs_lipschitz:
        validate_recipe(raw)
        return
    with pytest.raises(RecipeError, match=r"model\.clip_value"):
        validate_recipe(raw)
    validate_recipe({**raw, "model": {"gan_mode": mode, "clip_value": 0.01}})
    validate_recipe({**raw, "model": {"gan_mode": mode, "discriminator": {"spectral_norm": True}}})


@pytest.mark.parametrize("mode", ["lsgan", "wgangp"])
def test_only_compilable_objectives_get_a_compiled_discriminator(mode: str) -> None:
    method = Pix2Pix(
        generator="unet_128",
        generator_kwargs={"base_channels": 2},
        discriminator_kwargs={"base_channels": 2},
        gan_mode=mode,
    )
    apply_fast_paths(method, FastPaths(compile=True, compile_backend="eager"))
    assert is_compiled(method.generator)
    assert is_compiled(method.discriminator) == gan_objective(mode).compilable
