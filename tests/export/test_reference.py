"""Import of reference pytorch-CycleGAN-and-pix2pix generator checkpoints.

The fixtures are small generators built, initialised and run by the reference code itself (see
tests/fixtures/reference/README.md): its state dict and its eval-mode output for a stored input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from i2i.export.reference import convert_reference_state_dict, load_reference_generator
from i2i.nn import create_generator

FIXTURES = Path(__file__).parents[1] / "fixtures" / "reference"
MANIFEST: dict[str, dict[str, Any]] = json.loads((FIXTURES / "manifest.json").read_text())
CASES = [(arch, entry["file"]) for arch, entry in MANIFEST.items()] + [
    (arch, entry["oldstyle_file"]) for arch, entry in MANIFEST.items() if "oldstyle_file" in entry
]


@pytest.mark.parametrize(("arch", "file"), CASES)
def test_import_reproduces_the_reference_output(arch: str, file: str) -> None:
    entry = MANIFEST[arch]
    g = load_reference_generator(FIXTURES / file, arch)  # channels and norm inferred from the weights
    assert not g.training
    assert sum(p.numel() for p in g.parameters()) == entry["params"]
    io = load_file(FIXTURES / entry["io"])
    with torch.no_grad():
        output = g(io["input"])
    # float32 rounding across a different but equivalent op order: about 1e-6 observed.
    assert (output - io["output"]).abs().max().item() < 1e-5


@pytest.mark.parametrize("arch", list(MANIFEST))
def test_norm_and_base_channels_are_inferred(arch: str) -> None:
    entry = MANIFEST[arch]
    g = load_reference_generator(FIXTURES / entry["file"], arch)
    first_conv = next(m for m in g.modules() if isinstance(m, nn.Conv2d))
    assert first_conv.out_channels == entry["base_channels"]
    norm_type = nn.BatchNorm2d if entry["norm"] == "batch" else nn.InstanceNorm2d
    assert any(type(m) is norm_type for m in g.modules())


def test_oldstyle_instance_norm_statistics_are_dropped() -> None:
    entry = MANIFEST["resnet_6blocks"]
    old = torch.load(FIXTURES / entry["oldstyle_file"], map_location="cpu", weights_only=True)
    assert len(old) == entry["keys"] + entry["oldstyle_extra_keys"]
    model = create_generator("resnet_6blocks", base_channels=entry["base_channels"], norm="instance")
    converted = convert_reference_state_dict(old, model)
    assert list(converted) == list(model.state_dict())
    assert len(converted) == entry["keys"]


def test_dataparallel_prefix_is_tolerated(tmp_path: Path) -> None:
    entry = MANIFEST["unet_128"]
    state = torch.load(FIXTURES / entry["file"], map_location="cpu", weights_only=True)
    torch.save({f"module.{k}": v for k, v in state.items()}, tmp_path / "latest_net_G.pth")
    io = load_file(FIXTURES / entry["io"])
    with torch.no_grad():
        output = load_reference_generator(tmp_path / "latest_net_G.pth", "unet_128")(io["input"])
    assert (output - io["output"]).abs().max().item() < 1e-5


def test_wrong_architecture_is_a_clear_error() -> None:
    file = FIXTURES / MANIFEST["resnet_6blocks"]["file"]
    with pytest.raises(ValueError, match=r"18 parametrised layers but resnet_9blocks has 24"):
        load_reference_generator(file, "resnet_9blocks")
    with pytest.raises(ValueError, match=r"25 parametrised layers but unet_256 has 29"):
        load_reference_generator(FIXTURES / MANIFEST["unet_128"]["file"], "unet_256")


def test_shape_mismatch_names_both_keys_and_shapes() -> None:
    file = FIXTURES / MANIFEST["resnet_6blocks"]["file"]
    with pytest.raises(
        ValueError,
        match=r"'model\.1\.weight' has shape \(8, 3, 7, 7\).*'stem\.1\.weight' has shape \(8, 1, 7, 7\)",
    ):
        load_reference_generator(file, "resnet_6blocks", in_channels=1)


def test_norm_mismatch_is_a_clear_error() -> None:
    file = FIXTURES / MANIFEST["unet_128"]["file"]
    with pytest.raises(ValueError, match="another architecture or norm"):
        load_reference_generator(file, "unet_128", norm="instance")


def test_unknown_arch_and_non_state_dict(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="unknown generator 'unet_512'"):
        load_reference_generator(FIXTURES / MANIFEST["unet_128"]["file"], "unet_512")
    torch.save([torch.zeros(1)], tmp_path / "list.pth")
    with pytest.raises(ValueError, match="not a state dict"):
        load_reference_generator(tmp_path / "list.pth", "unet_128")
