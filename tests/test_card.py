"""The model card: one record read by weights, export and inference; old files still read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from typer.testing import CliRunner

from i2i.card import CardError, ModelCard, describe_generator
from i2i.cli import app
from i2i.infer import TorchBackend
from i2i.methods import CGAN
from i2i.nn import create_generator
from i2i.weights import load_generator, save_weights

KWARGS = {"in_channels": 1, "out_channels": 3, "base_channels": 4}


def test_describe_reads_what_the_network_declares() -> None:
    unet = create_generator("unet_128", base_channels=2)
    card = describe_generator(unet, arch="unet_128", kwargs={"in_channels": 1}, method="pix2pix")
    assert (card.size_multiple, card.input_kind, card.in_channels, card.out_channels) == (128, "image", 1, 3)
    stargan = create_generator("stargan", num_domains=2, base_channels=2, num_blocks=1)
    assert describe_generator(stargan, arch="stargan", kwargs={}).input_kind == "image+domain"
    dcgan = create_generator("dcgan", image_size=16, base_channels=2)
    assert describe_generator(dcgan, arch="dcgan", kwargs={}).input_kind == "noise+label"


def test_json_and_props_round_trip() -> None:
    card = ModelCard(
        "stargan", KWARGS, input_kind="image+domain", size_multiple=4, domains=("x", "y"), crop_size=64
    )
    assert ModelCard.from_json(json.loads(json.dumps(card.to_json()))) == card
    props = card.to_props()
    assert all(isinstance(v, str) for v in props.values())
    assert props["i2i.in_channels"] == "1"  # readers older than the card look for these keys
    assert ModelCard.from_props(props) == card


def test_a_header_written_before_the_card_still_loads(tmp_path: Path) -> None:
    """The generator description of i2i 0.1 (GeneratorSpec): domains in ``extra``, no size multiple."""
    generator = create_generator("resnet_6blocks", **KWARGS)
    old = {
        "arch": "resnet_6blocks",
        "kwargs": KWARGS,
        "direction": "b2a",
        "method": "cyclegan",
        "crop_size": 64,
        "recipe": "",
        "key_prefix": "",
        "value_range": [-1.0, 1.0],
        "extra": {"source": "x"},
    }
    path = tmp_path / "old.safetensors"
    header = {"i2i.format": "1", "i2i.generators": json.dumps([old])}
    save_file({k: v.contiguous() for k, v in generator.state_dict().items()}, str(path), metadata=header)
    _, card = load_generator(path)
    assert (card.direction, card.in_channels, card.size_multiple, card.input_kind) == ("b2a", 1, 4, "image")
    assert card.extra == {"source": "x"}
    stargan_old = {**old, "arch": "stargan", "extra": {"domains": '["red", "blue"]'}}
    assert ModelCard.from_json(stargan_old).domains == ("red", "blue")
    assert ModelCard.from_json(stargan_old).input_kind == "image+domain"


def test_onnx_props_written_before_the_card_still_read() -> None:
    old_props = {
        "i2i.arch": "resnet_9blocks",
        "i2i.method": "cyclegan",
        "i2i.direction": "a2b",
        "i2i.in_channels": "3",
        "i2i.out_channels": "1",
        "i2i.value_range": "[-1.0, 1.0]",
        "i2i.size_multiple": "4",
        "i2i.crop_size": "256",
        "i2i.precision": "int8",
    }
    card = ModelCard.from_props(old_props)
    assert (card.out_channels, card.size_multiple, card.precision, card.input_kind) == (1, 4, "int8", "image")


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"i2i.arch": "x"}, "no i2i metadata for in_channels"),
        (
            {"i2i.arch": "x", "i2i.in_channels": "3", "i2i.out_channels": "{", "i2i.value_range": "[0, 1]"},
            "JSON",
        ),
        (
            {
                "i2i.arch": "x",
                "i2i.in_channels": "3",
                "i2i.out_channels": "3",
                "i2i.value_range": "[0, 1]",
                "i2i.size_multiple": "0",
            },
            "size_multiple must be at least 1",
        ),
        (
            {
                "i2i.arch": "x",
                "i2i.in_channels": "3",
                "i2i.out_channels": "3",
                "i2i.value_range": "[0, 1]",
                "i2i.size_multiple": "4",
                "i2i.input_kind": "voice",
            },
            "unknown 'voice'",
        ),
    ],
)
def test_damaged_metadata_gives_one_line_naming_the_file(props: dict[str, str], message: str) -> None:
    with pytest.raises(CardError, match=message) as caught:
        ModelCard.from_props(props, source="m.onnx")
    assert str(caught.value).startswith("m.onnx: ") and "\n" not in str(caught.value)


def _cgan_weights(tmp_path: Path) -> Path:
    method = CGAN(
        generator_kwargs={"base_channels": 4},
        discriminator_kwargs={"base_channels": 4},
        image_size=16,
        latent_dim=8,
    )
    tensors = {f"generator.{k}": v for k, v in method.generator.state_dict().items()}
    path = tmp_path / "cgan.safetensors"
    save_weights(path, tensors, method.model_cards(crop_size=16))
    return path


def test_export_and_translate_refuse_a_noise_generator_in_one_line(tmp_path: Path) -> None:
    """Before the card, `i2i export` of a cgan run died in a 321-line trace error."""
    weights = _cgan_weights(tmp_path)
    result = CliRunner().invoke(app, ["export", str(weights), "--out", str(tmp_path / "m.onnx")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "needs an image-to-image generator" in lines[0] and "noise" in lines[0]
    assert not (tmp_path / "m.onnx").exists()
    with pytest.raises(CardError, match="translation needs an image-to-image generator"):
        TorchBackend.load(weights, device="cpu")
    photos = tmp_path / "photos"
    photos.mkdir()
    result = CliRunner().invoke(
        app, ["translate", str(photos), "--model", str(weights), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 2 and "needs an image-to-image generator" in result.output


def test_a_card_never_takes_an_unknown_input_kind() -> None:
    with pytest.raises(CardError, match="input_kind"):
        ModelCard("x", input_kind="text")


@pytest.mark.parametrize(
    ("arch", "kwargs", "min_side"),
    [
        ("resnet_6blocks", {}, 8),  # reflect padding and instance norm of the 1/4-scale features: 2 px
        ("resnet_6blocks", {"padding": "zero", "norm": "batch"}, 8),
        ("unet_128", {}, 128),
    ],
)
def test_the_card_records_the_smallest_image_the_network_takes(
    arch: str, kwargs: dict[str, object], min_side: int
) -> None:
    network = create_generator(arch, base_channels=2, **kwargs)
    card = describe_generator(network, arch=arch, kwargs=kwargs)
    assert card.min_side == min_side
    assert ModelCard.from_props(card.to_props()).min_side == min_side
    card.check_image_size(min_side, 5 * min_side)
    with pytest.raises(ValueError, match=f"at least {min_side} px per side"):
        card.check_image_size(min_side - card.size_multiple, 500)
    if min_side > card.size_multiple:  # the size is checked after padding to the multiple
        card.check_image_size(min_side - card.size_multiple + 1, 500)
    with torch.no_grad():  # the network does take its minimum, and fails one multiple below it
        network.eval()(torch.zeros(1, 3, min_side, min_side))
        if arch.startswith("resnet") and not kwargs:  # reflect padding and instance norm both need it
            with pytest.raises((RuntimeError, ValueError)):
                network(torch.zeros(1, 3, min_side - card.size_multiple, min_side - card.size_multiple))
