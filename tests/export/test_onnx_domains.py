"""A StarGAN generator exported with the target domain as a second input, and translated by domain name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from typer.testing import CliRunner

from i2i.cli import app
from i2i.data import read_image, write_image
from i2i.export import ModelCard, export_onnx, read_onnx_card
from i2i.export.metadata import DOMAIN_INPUT_NAME
from i2i.infer import Translator
from i2i.methods import StarGAN
from i2i.train.checkpoint import method_tensors
from i2i.weights import load_generator, save_weights

DOMAINS = ["red", "green", "blue"]


@pytest.fixture(scope="module")
def model_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    torch.manual_seed(0)
    method = StarGAN(
        generator_kwargs={"base_channels": 4, "init_gain": 0.3},
        discriminator_kwargs={"base_channels": 4, "num_layers": 2},
        image_size=16,
        domains=DOMAINS,
    )
    folder = tmp_path_factory.mktemp("stargan")
    weights = folder / "weights.safetensors"
    save_weights(weights, method_tensors(method), generators=method.model_cards(crop_size=16))
    generator, spec = load_generator(weights)
    onnx_path = folder / "model.onnx"
    export_onnx(generator, spec, onnx_path)  # verifies vs PyTorch
    return weights, onnx_path


def test_metadata_names_the_domains_and_the_graph_takes_them(model_files: tuple[Path, Path]) -> None:
    weights, onnx_path = model_files
    info = read_onnx_card(onnx_path)
    assert info.domains == tuple(DOMAINS) and info.method == "stargan"
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image", DOMAIN_INPUT_NAME]
    generator, _ = load_generator(weights)
    x = np.random.default_rng(0).uniform(-1, 1, (3, 3, 32, 48)).astype(np.float32)  # other size, batch 3
    domain = np.array([2, 0, 1], np.int64)
    (y,) = session.run(None, {"image": x, DOMAIN_INPUT_NAME: domain})
    with torch.no_grad():
        expected = generator(torch.from_numpy(x), torch.from_numpy(domain)).numpy()
    assert np.abs(y - expected).max() < 1e-4
    assert np.abs(y[0] - y[1]).max() > 1e-3  # different domains, different outputs


def test_files_without_domains_still_read() -> None:
    info = ModelCard("resnet_6blocks", method="cyclegan", size_multiple=4, crop_size=256)
    props = {k: v for k, v in info.to_props().items() if k != "i2i.domains"}  # a file from before the field
    assert ModelCard.from_props(props) == info and info.domains == ()
    assert info.domain_index(None) is None
    with pytest.raises(ValueError, match="no domains"):
        info.domain_index("red")


def test_translate_by_domain_name_with_onnx_and_pytorch(
    model_files: tuple[Path, Path], tmp_path: Path
) -> None:
    weights, onnx_path = model_files
    image = np.random.default_rng(1).integers(0, 256, (20, 24, 3), np.uint8)
    outputs = {
        (backend, domain): Translator(model, device="cpu", domain=domain).translate(image)
        for backend, model in (("onnx", onnx_path), ("torch", weights))
        for domain in ("red", "blue")
    }
    assert outputs["onnx", "red"].shape == (20, 24, 3)
    for domain in ("red", "blue"):
        assert np.abs(outputs["onnx", domain].astype(int) - outputs["torch", domain]).max() <= 1
    assert not np.array_equal(outputs["onnx", "red"], outputs["onnx", "blue"])
    with pytest.raises(ValueError, match="choose one with --domain"):
        Translator(onnx_path, device="cpu")
    with pytest.raises(ValueError, match="unknown domain 'purple'"):
        Translator(weights, device="cpu", domain="purple")

    write_image(tmp_path / "in" / "a.png", image)
    args = ["translate", str(tmp_path / "in"), "--model", str(onnx_path), "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(app, [*args, "--domain", "blue", "--device", "cpu", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert np.array_equal(read_image(tmp_path / "out" / "a.png"), outputs["onnx", "blue"])
    missing = CliRunner().invoke(app, [*args, "--device", "cpu", "--no-progress"])
    assert missing.exit_code == 2 and "--domain" in missing.output


def test_int8_export_of_a_multi_domain_model_is_refused(
    model_files: tuple[Path, Path], tmp_path: Path
) -> None:
    from i2i.export import ExportError

    generator, info = load_generator(model_files[0])
    with pytest.raises(ExportError, match="int8 export of a multi-domain model"):
        export_onnx(generator, info, tmp_path / "m.onnx", precision="int8", calibration_images=tmp_path)
