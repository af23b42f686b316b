from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from i2i.card import describe_generator
from i2i.config import list_recipes, load_recipe
from i2i.data import synthetic_pair, to_tensor
from i2i.methods import METHODS, Batch, CycleGAN, Method, Pix2Pix, create_method, frozen
from i2i.nn import create_generator
from i2i.weights import save_weights

TINY = ["model.generator.base_channels=2", "model.discriminator.base_channels=2"]


@pytest.mark.parametrize("name", [name for name, _ in list_recipes()])
def test_every_recipe_builds_its_method(name: str, tmp_path: Path) -> None:
    recipe = load_recipe(name, TINY)
    if recipe.method == "distill":  # its teacher is given by `i2i distill TEACHER`: make one
        recipe = load_recipe(name, [*TINY, f"model.teacher={_teacher(tmp_path)}"])
    method = create_method(recipe)
    assert isinstance(method, Method) and method.method_name == recipe.method
    specs = method.model_cards(recipe="r", crop_size=recipe.data.crop_size)
    assert len(specs) == (2 if recipe.method == "cyclegan" else 1)
    networks = method.networks()
    for spec in specs:  # each spec rebuilds its generator exactly: same tensors, same shapes
        stored = networks[spec.key_prefix.rstrip(".")].state_dict()
        rebuilt = spec.build().state_dict()
        assert {k: v.shape for k, v in rebuilt.items()} == {k: v.shape for k, v in stored.items()}
        if recipe.method != "cgan":  # cgan's generator reads noise and a label, no image
            assert spec.in_channels == recipe.data.in_channels or spec.direction != recipe.data.direction


def _teacher(tmp_path: Path) -> Path:
    """A small resnet_9blocks generator's weights, as a teacher to distil."""
    generator = create_generator("resnet_9blocks", base_channels=2)
    card = describe_generator(
        generator, arch="resnet_9blocks", kwargs={"base_channels": 2}, method="cyclegan"
    )
    save_weights(tmp_path / "teacher.safetensors", generator.state_dict(), [card])
    return tmp_path / "teacher.safetensors"


def test_methods_registry_names() -> None:
    assert METHODS.names() == ["cgan", "colorization", "cut", "cyclegan", "distill", "pix2pix", "stargan"]


def _snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def _unchanged(before: dict[str, torch.Tensor], module: nn.Module) -> set[str]:
    return {name for name, p in module.named_parameters() if torch.equal(before[name], p)}


@pytest.mark.parametrize("gan_mode", ["vanilla", "lsgan", "wgangp", "hinge"])
def test_pix2pix_step_gives_finite_losses_and_updates_g_and_d(gan_mode: str) -> None:
    method = Pix2Pix(
        generator="unet_128",
        generator_kwargs={"base_channels": 4},
        discriminator_kwargs={"base_channels": 4},
        gan_mode=gan_mode,
    )
    batch = Batch(torch.rand(2, 3, 128, 128) * 2 - 1, torch.rand(2, 3, 128, 128) * 2 - 1)
    g_before, d_before = _snapshot(method.generator), _snapshot(method.discriminator)
    output = method.training_step(batch)
    expected = {"g/gan", "g/l1", "d"} | ({"d/gp"} if gan_mode == "wgangp" else set())
    assert set(output.losses) == expected
    assert all(torch.isfinite(v) and v.ndim == 0 for v in output.losses.values())
    # Adam moves every parameter that received a gradient: all of G's and all of D's, except D's output
    # bias under the objectives linear in the logits: d(mean(fake) - mean(real))/db = 1 - 1 = 0 for
    # wgangp, and the same for hinge while all logits are inside (-1, 1), as at initialisation.
    last_bias = list(d_before)[-1]
    assert _unchanged(g_before, method.generator) == set()
    assert _unchanged(d_before, method.discriminator) == (
        {last_bias} if gan_mode in ("wgangp", "hinge") else set()
    )
    assert all(p.requires_grad for p in method.parameters())  # frozen() restored the flags
    assert output.images["fake_b"].shape == (2, 3, 128, 128)


def test_cyclegan_step_gives_finite_losses_and_updates_all_networks() -> None:
    method = CycleGAN(
        generator="resnet_6blocks",
        generator_kwargs={"base_channels": 4},
        discriminator_kwargs={"base_channels": 4},
        pool_size=3,
    )
    batch = Batch(torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1)
    before = {name: _snapshot(net) for name, net in method.networks().items()}
    output = method.training_step(batch)
    assert set(method.networks()) == {"g_ab", "g_ba", "d_a", "d_b"}
    assert set(output.losses) == {
        "g", "g/gan_ab", "g/gan_ba", "g/cycle_a", "g/cycle_b", "g/idt_a", "g/idt_b", "d/a", "d/b"
    }  # fmt: skip
    assert all(torch.isfinite(v) for v in output.losses.values())
    for name, net in method.networks().items():
        assert _unchanged(before[name], net) == set(), name
    assert len(method.fake_a_pool) == 2 and len(method.fake_b_pool) == 2
    # The total G loss is the paper's weighting: GAN + 10 * cycle + 0.5 * 10 * identity
    losses = output.losses
    total = (
        losses["g/gan_ab"]
        + losses["g/gan_ba"]
        + 10 * (losses["g/cycle_a"] + losses["g/cycle_b"])
        + 5 * (losses["g/idt_a"] + losses["g/idt_b"])
    )
    assert torch.allclose(losses["g"], total)


def test_cyclegan_weighs_each_direction_with_its_own_lambda() -> None:
    """lambda_a weighs the a -> b -> a cycle and F(x) ~ x, lambda_b the other cycle and G(y) ~ y
    (the reference's lambda_A / lambda_B); an unset one falls back to lambda_cycle."""
    recipe = load_recipe(
        "demo_cyclegan", [*TINY, "model.lambda_a=3", "model.lambda_cycle=7", "model.lambda_identity=0.5"]
    )
    method = create_method(recipe)
    assert isinstance(method, CycleGAN) and (method.lambda_a, method.lambda_b) == (3.0, 7.0)
    torch.manual_seed(0)
    batch = Batch(torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1)
    losses = method.training_step(batch).losses
    total = (
        losses["g/gan_ab"]
        + losses["g/gan_ba"]
        + 3 * losses["g/cycle_a"]
        + 7 * losses["g/cycle_b"]
        + 0.5 * (3 * losses["g/idt_a"] + 7 * losses["g/idt_b"])
    )
    assert torch.allclose(losses["g"], total)
    default = create_method(load_recipe("demo_cyclegan", TINY))
    assert isinstance(default, CycleGAN) and default.lambda_a == default.lambda_b == 10.0


def test_cyclegan_identity_needs_equal_channels() -> None:
    with pytest.raises(ValueError, match="identity"):
        CycleGAN(generator="resnet_6blocks", generator_kwargs={"base_channels": 2}, in_channels=1)


def test_frozen_blocks_discriminator_gradients_only() -> None:
    d, g = nn.Linear(2, 1), nn.Linear(2, 2)
    with frozen(d):
        d(g(torch.ones(1, 2))).sum().backward()
    assert d.weight.grad is None and g.weight.grad is not None
    assert d.weight.requires_grad


def test_pix2pix_overfits_a_few_synthetic_pairs() -> None:
    pairs = [synthetic_pair(i, 32, seed=0) for i in range(4)]
    a = torch.stack([to_tensor(label) for label, _ in pairs])  # (4, 3, 32, 32) label maps
    b = torch.stack([to_tensor(photo) for _, photo in pairs])  # (4, 3, 32, 32) photos
    method = Pix2Pix(
        generator="resnet_6blocks",
        generator_kwargs={"base_channels": 8, "norm": "instance"},
        discriminator_kwargs={"base_channels": 4, "num_layers": 2},
        lr=2e-3,
    )
    for _ in range(100):
        method.training_step(Batch(a, b))
    method.eval()
    with torch.no_grad():
        l1 = (method.generator(a) - b).abs().mean().item()
    # Baselines that ignore the input: the per-pixel mean of the four targets (the best input-free
    # prediction in L2, close to it in L1; ~0.16 here, as the photos share their background) and one
    # constant colour (~0.27). Beating the first by 20% needs the input's shapes and colours; the
    # photos' random texture (which the label maps do not determine) keeps L1 from reaching 0 in 100 steps.
    per_pixel_mean = (b.mean(0, keepdim=True) - b).abs().mean().item()
    constant = (b.mean((0, 2, 3), keepdim=True) - b).abs().mean().item()
    assert l1 < 0.8 * per_pixel_mean and l1 < 0.5 * constant, (l1, per_pixel_mean, constant)
