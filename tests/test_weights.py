"""Weight files carry their model cards; a run directory resolves to its newest checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from i2i.card import ModelCard
from i2i.files import write_text_atomic
from i2i.nn import create_generator
from i2i.run_dir import RunDir
from i2i.weights import WeightsError, load_generator, read_model_cards, save_weights

KWARGS = {"in_channels": 3, "out_channels": 1, "base_channels": 4}


def _two_generator_file(path: Path) -> tuple[torch.nn.Module, torch.nn.Module]:
    g_ab = create_generator("resnet_6blocks", **KWARGS)
    g_ba = create_generator("resnet_6blocks", **KWARGS)
    tensors = {f"g_ab.{k}": v for k, v in g_ab.state_dict().items()}
    tensors |= {f"g_ba.{k}": v for k, v in g_ba.state_dict().items()}
    specs = [
        ModelCard(
            "resnet_6blocks", KWARGS, direction="a2b", method="cyclegan", crop_size=64, key_prefix="g_ab."
        ),
        ModelCard(
            "resnet_6blocks", KWARGS, direction="b2a", method="cyclegan", crop_size=64, key_prefix="g_ba."
        ),
    ]
    save_weights(path, tensors, specs, metadata={"note": "test"})
    return g_ab, g_ba


def test_load_generator_rebuilds_each_direction_exactly(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    g_ab, g_ba = _two_generator_file(path)
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    for direction, original in (("a2b", g_ab), ("b2a", g_ba)):
        loaded, spec = load_generator(path, direction)
        assert spec.direction == direction and spec.out_channels == 1 and spec.crop_size == 64
        assert not loaded.training
        assert torch.equal(loaded(x), original.eval()(x))


def test_default_direction_is_a2b_and_unknown_direction_is_named(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    _two_generator_file(path)
    assert load_generator(path)[1].direction == "a2b"
    with pytest.raises(WeightsError, match="no generator for direction 'x2y'"):
        load_generator(path, "x2y")


def test_specs_round_trip_through_the_header(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    _two_generator_file(path)
    specs = read_model_cards(path)
    assert [s.key_prefix for s in specs] == ["g_ab.", "g_ba."]
    assert specs[0] == ModelCard.from_json(specs[0].to_json())


def test_run_directory_resolves_through_the_last_pointer(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    for step in (10, 20):
        _two_generator_file(run.checkpoint(step) / "weights.safetensors")
    write_text_atomic(run.last_pointer, "step_00000010\n")
    assert run.latest_checkpoint() == run.checkpoint(10)
    run.last_pointer.unlink()  # a run killed before writing the pointer: newest complete one
    assert run.latest_checkpoint() == run.checkpoint(20)
    assert load_generator(tmp_path, "b2a")[1].direction == "b2a"


def test_a_file_without_i2i_metadata_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "plain.safetensors"
    save_weights(path, {"w": torch.zeros(2)})
    with pytest.raises(WeightsError, match="import-reference"):
        load_generator(path)
    with pytest.raises(WeightsError, match="no such file"):
        load_generator(tmp_path / "missing.safetensors")


def test_mismatched_tensors_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    spec = ModelCard("resnet_6blocks", KWARGS, key_prefix="g.")
    save_weights(path, {"g.unrelated": torch.zeros(1)}, [spec])
    with pytest.raises(WeightsError, match="does not match"):
        load_generator(path)


def test_a_crafted_header_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    """A header claiming base_channels 4096 used to build a network of gigabytes before any check."""
    import json
    import resource

    from safetensors.torch import save_file

    small = create_generator("resnet_6blocks", **KWARGS)
    header = {
        "i2i.format": "1",
        "i2i.generators": json.dumps(
            [{**ModelCard("resnet_6blocks", KWARGS).to_json(), "kwargs": {**KWARGS, "base_channels": 4096}}]
        ),
    }
    path = tmp_path / "crafted.safetensors"
    save_file({k: v.contiguous() for k, v in small.state_dict().items()}, str(path), metadata=header)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(WeightsError, match=r"does not match the stored tensors \(\d+ differ; .*header \("):
        load_generator(path)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert grown_mb < 500  # the 4096-channel network would take gigabytes


def test_a_damaged_pth_gets_i2is_message_never_torchs_unsafe_advice(tmp_path: Path) -> None:
    from i2i.export.reference import load_reference_generator

    for name, payload in (("empty.pth", b""), ("garbage.pth", b"garbage" * 10)):
        path = tmp_path / name
        path.write_bytes(payload)
        with pytest.raises(ValueError, match="not a readable PyTorch checkpoint") as caught:
            load_reference_generator(path, "resnet_6blocks")
        assert "weights_only=False" not in str(caught.value) and "\n" not in str(caught.value)


def test_a_pytorch_checkpoint_is_recognised_and_the_way_on_named(tmp_path: Path) -> None:
    """Zip (PyTorch 1.6+) and legacy pickle ``torch.save`` files, whatever their name, instead of
    safetensors' 'header too large'."""
    legacy = tmp_path / "latest_net_G.pth"
    torch.save({"model.1.weight": torch.zeros(2)}, legacy, _use_new_zipfile_serialization=False)
    zipped = tmp_path / "renamed.safetensors"
    torch.save({"model.1.weight": torch.zeros(2)}, zipped)
    for path in (legacy, zipped):
        with pytest.raises(WeightsError, match="a PyTorch checkpoint, not i2i weights") as caught:
            load_generator(path)
        assert "import-reference" in str(caught.value) and "--arch" in str(caught.value)
        assert "header too large" not in str(caught.value)
