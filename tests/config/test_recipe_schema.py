"""Recipe schema: defaults per method, cross-field checks, one-line errors naming file and key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from i2i.config import (
    RecipeError,
    load_recipe,
    recipe_to_yaml,
    recipe_type,
    validate_recipe,
)
from i2i.methods import create_method
from i2i.nn import GENERATORS


def _write(tmp_path: Path, text: str, name: str = "exp.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _error(raw: dict[str, Any]) -> str:
    with pytest.raises(RecipeError) as info:
        validate_recipe(raw, "r.yaml")
    message = str(info.value)
    assert "\n" not in message
    return message


def test_pix2pix_defaults_are_the_reference_defaults() -> None:
    recipe = validate_recipe({"method": "pix2pix", "name": "facades"})
    assert isinstance(recipe, recipe_type("pix2pix")) and type(recipe).__name__ == "Pix2PixRecipe"
    assert recipe.data.root == "datasets/facades"
    assert (recipe.data.layout, recipe.data.load_size, recipe.data.crop_size) == ("aligned", 286, 256)
    assert (recipe.data.preprocess, recipe.data.flip, recipe.data.direction) == (
        "resize_and_crop",
        True,
        "a2b",
    )
    generator = recipe.model.generator
    assert (generator.name, generator.norm, generator.dropout, generator.base_channels) == (
        "unet_256",
        "batch",
        0.5,
        64,
    )
    assert (recipe.model.discriminator.name, recipe.model.discriminator.norm) == ("patchgan", "batch")
    assert (recipe.model.gan_mode, recipe.model.lambda_l1) == ("vanilla", 100.0)
    train = recipe.train
    assert (train.lr, train.beta1, train.beta2, train.batch_size) == (2e-4, 0.5, 0.999, 1)
    assert (train.epochs, train.epochs_decay, train.schedule) == (100, 100, "linear")


def test_cyclegan_defaults_are_the_reference_defaults() -> None:
    recipe = validate_recipe({"method": "cyclegan", "name": "horse2zebra"})
    assert isinstance(recipe, recipe_type("cyclegan"))
    assert recipe.data.layout == "unaligned"
    assert (recipe.model.generator.name, recipe.model.generator.norm, recipe.model.generator.dropout) == (
        "resnet_9blocks",
        "instance",
        0.0,
    )
    assert recipe.model.discriminator.norm == "instance"
    assert (recipe.model.gan_mode, recipe.model.lambda_cycle, recipe.model.lambda_identity) == (
        "lsgan",
        10,
        0.5,
    )
    assert recipe.model.pool_size == 50


def test_user_values_override_method_defaults_key_by_key() -> None:
    recipe = validate_recipe(
        {
            "method": "pix2pix",
            "name": "x",
            "model": {"generator": {"base_channels": 8}},
            "data": {"root": "/d"},
        }
    )
    assert (recipe.model.generator.name, recipe.model.generator.base_channels) == ("unet_256", 8)
    assert recipe.data.root == "/d"


def test_network_kwargs_drop_the_name_and_unset_options() -> None:
    recipe = validate_recipe(
        {"method": "cyclegan", "name": "x", "model": {"discriminator": {"num_layers": 2}}}
    )
    assert recipe.model.discriminator.network_kwargs() == {
        "base_channels": 64,
        "num_layers": 2,
        "norm": "instance",
        "spectral_norm": False,
        "init": "normal",
        "init_gain": 0.02,
    }


def test_typos_name_the_file_the_key_and_the_likely_intent(tmp_path: Path) -> None:
    path = _write(tmp_path, "method: pix2pix\nmodel:\n  lamda_l1: 10\n")
    with pytest.raises(
        RecipeError, match=r"^.*exp\.yaml: model\.lamda_l1: unknown key \(did you mean 'lambda_l1'\?\)$"
    ):
        load_recipe(path)
    # a key in the wrong section points to where it belongs
    assert _error({"method": "pix2pix", "name": "x", "train": {"lambda_l1": 1}}).endswith(
        "r.yaml: train.lambda_l1: unknown key (did you mean 'model.lambda_l1'?)"
    )
    # a method-specific key in the other method's recipe is unknown too
    assert "model.lambda_cycle: unknown key" in _error(
        {"method": "pix2pix", "name": "x", "model": {"lambda_cycle": 1}}
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"method": "pix2px", "name": "x"}, "method: unknown method 'pix2px'; did you mean 'pix2pix'?"),
        ({"name": "x"}, "method: required key missing"),
        (
            {"method": "pix2pix", "name": "x", "train": {"lr": "fast"}},
            "train.lr: input should be a valid number",
        ),
        (
            {"method": "pix2pix", "name": "x", "train": {"batch_size": 0}},
            "train.batch_size: input should be greater",
        ),
        (
            {"method": "pix2pix", "name": "x", "data": {"preprocess": "zoom"}},
            "data.preprocess: input should be",
        ),
        (
            {"method": "pix2pix", "name": "x", "model": {"gan_mode": "lsgam"}},
            "model.gan_mode: unknown GAN objective",
        ),
        (
            {"method": "pix2pix", "name": "x", "model": {"generator": {"name": "unet256"}}},
            "model.generator.name: unknown generator 'unet256'; did you mean 'unet_256'",
        ),
        (
            {"method": "cyclegan", "name": "x", "model": {"discriminator": {"name": "patchgam"}}},
            "model.discriminator.name: unknown discriminator 'patchgam'; did you mean 'patchgan'",
        ),
        (
            {"method": "pix2pix", "name": "x", "model": {"generator": {"padding": "zero"}}},
            "model.generator.padding: not a parameter of generator 'unet_256'",
        ),
        (
            {"method": "pix2pix", "name": "x", "data": {"layout": "unaligned"}},
            "data.layout: pix2pix needs one of aligned, paired, synthetic_paired",
        ),
        (
            {"method": "pix2pix", "name": "x", "data": {"layout": "alined"}},
            "data.layout: unknown layout 'alined'; did you mean 'aligned'",
        ),
        (  # a folder to translate has no targets: a layout to distil on, not to train CycleGAN on
            {"method": "cyclegan", "name": "x", "data": {"layout": "single"}},
            "data.layout: cyclegan needs one of ",
        ),
        (
            {"method": "cyclegan", "name": "x", "data": {"out_channels": 1}},
            "model.lambda_identity: the identity loss needs data.in_channels == data.out_channels",
        ),
        (
            {"method": "cyclegan", "name": "x", "train": {"epochs": 0, "epochs_decay": 0}},
            "train.epochs: epochs + epochs_decay must be at least 1",
        ),
    ],
)
def test_invalid_values_give_one_line_with_the_key(raw: dict[str, Any], expected: str) -> None:
    assert f"r.yaml: {expected}" in _error(raw)


@pytest.mark.parametrize(
    ("method", "key", "limit"),
    [
        ("pix2pix", "data.load_size", 16384),
        ("pix2pix", "data.crop_size", 16384),
        ("pix2pix", "data.synthetic_size", 4096),
        ("pix2pix", "data.synthetic_count", 1_000_000),
        ("pix2pix", "data.num_workers", 256),
        ("pix2pix", "model.generator.base_channels", 1024),
        ("pix2pix", "model.discriminator.base_channels", 1024),
        ("pix2pix", "model.discriminator.num_layers", 12),
        ("pix2pix", "model.discriminator.num_scales", 8),
        ("pix2pix", "train.batch_size", 4096),
        ("pix2pix", "train.n_critic", 100),
        ("pix2pix", "train.num_samples", 256),
        ("cyclegan", "model.pool_size", 1000),
        ("cgan", "model.latent_dim", 4096),
        ("cgan", "model.embedding_dim", 4096),
    ],
)
def test_absurd_sizes_give_one_line_with_the_key(method: str, key: str, limit: int) -> None:
    raw: dict[str, Any] = {"method": method, "name": "x"}
    section = raw
    *sections, leaf = key.split(".")
    for name in sections:
        section = section.setdefault(name, {})
    section[leaf] = limit * 100
    assert _error(raw) == f"r.yaml: {key}: input should be less than or equal to {limit}, got {limit * 100}"


def test_sizes_up_to_the_limits_are_accepted() -> None:
    data = {"load_size": 16384, "crop_size": 16384, "synthetic_size": 4096, "synthetic_count": 1_000_000}
    model = {"generator": {"base_channels": 1024}, "discriminator": {"base_channels": 1024, "num_layers": 12}}
    train = {"batch_size": 4096, "n_critic": 100, "num_samples": 256}
    recipe = validate_recipe({"method": "pix2pix", "name": "x", "data": data, "model": model, "train": train})
    assert recipe.data.crop_size == 16384 and recipe.model.discriminator.num_layers == 12
    assert recipe.train.batch_size == 4096


def test_crop_must_fit_inside_the_resized_image() -> None:
    assert "r.yaml: data.crop_size: 300 is larger than data.load_size 286" in _error(
        {"method": "cyclegan", "name": "x", "data": {"crop_size": 300}}
    )
    # without a resize before the crop, load_size does not bound crop_size
    validate_recipe({"method": "cyclegan", "name": "x", "data": {"crop_size": 300, "preprocess": "crop"}})


def test_crop_must_be_a_multiple_of_the_generators_size_multiple() -> None:
    # unet_256 halves the image 8 times: crops must be multiples of 2**8
    assert "data.crop_size: 128 is not a multiple of 256" in _error(
        {"method": "pix2pix", "name": "x", "data": {"load_size": 128, "crop_size": 128}}
    )
    # resnet generators halve twice: multiples of 4
    assert "data.crop_size: 130 is not a multiple of 4" in _error(
        {"method": "cyclegan", "name": "x", "data": {"crop_size": 130}}
    )
    unet_128 = {"generator": {"name": "unet_128"}}
    validate_recipe({"method": "pix2pix", "name": "x", "model": unet_128, "data": {"crop_size": 128}})
    # preprocess "none" keeps each image's own size: the data pipeline pads/resizes, not the recipe
    validate_recipe({"method": "pix2pix", "name": "x", "data": {"crop_size": 100, "preprocess": "none"}})


def test_round_trip_through_yaml(tmp_path: Path) -> None:
    recipe = validate_recipe(
        {"method": "cyclegan", "name": "rt", "data": {"max_images": 7}, "train": {"lr": 1e-4, "max_steps": 3}}
    )
    path = _write(tmp_path, recipe_to_yaml(recipe), "resolved.yaml")
    assert load_recipe(path) == recipe


class _PlainGenerator(nn.Module):
    """A generator without a ``dropout`` parameter (as a user's registered network may be)."""

    size_multiple = 4

    def __init__(
        self,
        *,
        in_channels: int = 3,
        out_channels: int = 3,
        base_channels: int = 64,
        norm: str = "batch",
        init: str = "normal",
        init_gain: float = 0.02,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.options = (base_channels, norm, init, init_gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.conv(x))


def plain_generator(**kwargs: Any) -> _PlainGenerator:
    return _PlainGenerator(**kwargs)


def test_options_a_network_lacks_are_dropped_at_their_default_and_refused_when_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A registered generator without `dropout` used to fail every recipe naming it ("dropout: not a
    parameter") although the user never wrote dropout; now the schema and the method follow one rule."""
    monkeypatch.setitem(GENERATORS._builders, "plain_generator", plain_generator)
    recipe = validate_recipe(
        {"method": "pix2pix", "name": "x", "model": {"generator": {"name": "plain_generator"}}}
    )
    method = create_method(recipe)
    assert isinstance(method.generator, _PlainGenerator) and "dropout" not in method.generator_kwargs
    message = _error(
        {
            "method": "pix2pix",
            "name": "x",
            "model": {"generator": {"name": "plain_generator", "dropout": 0.3}},
        }
    )
    assert message.startswith(
        "r.yaml: model.generator.dropout: not a parameter of generator 'plain_generator'"
    )


def test_method_layouts_and_classes_come_from_the_layout_registry() -> None:
    from i2i.data import LAYOUTS, data_layout

    # layouts with channels of their own (colorization's L -> ab) serve only the methods naming them
    image = {n for n in LAYOUTS.names() if data_layout(n).targets and data_layout(n).channels is None}
    assert set(recipe_type("cyclegan").LAYOUTS) == image  # recipe_layouts "image"
    assert set(recipe_type("pix2pix").LAYOUTS) == {n for n in image if data_layout(n).paired}
    assert set(recipe_type("colorization").LAYOUTS) == {"colorization", "synthetic_colorization"}
    stargan = recipe_type("stargan").model_validate(
        {
            "method": "stargan",
            "name": "x",
            "data": {"layout": "synthetic_domains", "domains": ["blue", "red"]},
        }
    )
    assert stargan.data.classes == ["blue", "red"]
    cyclegan = recipe_type("cyclegan").model_validate({"method": "cyclegan", "name": "x"})
    with pytest.raises(ValueError, match=r"data\.layout: 'unaligned' has no classes"):
        cyclegan.data.classes  # noqa: B018


def test_plateau_on_eval_needs_evaluations() -> None:
    train = {"schedule": "plateau", "plateau_metric": "eval"}
    message = _error({"method": "pix2pix", "name": "x", "train": train})
    assert "train.plateau_metric: 'eval' follows the evaluations; set train.eval_every" in message
    recipe = validate_recipe({"method": "pix2pix", "name": "x", "train": {**train, "eval_every": 10}}, "r")
    assert (recipe.train.plateau_factor, recipe.train.plateau_patience) == (0.2, 5)  # the reference's
