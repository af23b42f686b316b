"""``i2i export`` / ``i2i info`` / ``i2i import-reference``: sources, precisions, reference files, errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from i2i.card import ModelCard
from i2i.cli import app
from i2i.export import read_onnx_card
from i2i.export.reference import load_reference_generator
from i2i.export.verify import FP16_BOUND
from i2i.weights import load_generator, read_model_cards, save_weights

FIXTURES = Path(__file__).parents[1] / "fixtures" / "reference"
MANIFEST: dict[str, dict[str, Any]] = json.loads((FIXTURES / "manifest.json").read_text())


def invoke(*args: str | Path) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def run_onnx(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (y,) = session.run(["translated"], {"image": x.astype(np.float32)})
    return np.asarray(y)


@pytest.fixture
def cyclegan_weights(tmp_path: Path, make_generator: Callable[..., Any]) -> tuple[Path, dict[str, Any]]:
    """A weights file with two generators of different sizes, as a CycleGAN checkpoint holds them."""
    g_ab, _ = make_generator("resnet_6blocks", seed=1)
    g_ba, _ = make_generator("resnet_6blocks", seed=2, base_channels=8)
    tensors = {f"g_ab.{k}": v for k, v in g_ab.state_dict().items()}
    tensors |= {f"g_ba.{k}": v for k, v in g_ba.state_dict().items()}
    specs = [
        ModelCard(
            "resnet_6blocks", {"base_channels": 4}, method="cyclegan", crop_size=64, key_prefix="g_ab."
        ),
        ModelCard(
            "resnet_6blocks",
            {"base_channels": 8},
            direction="b2a",
            method="cyclegan",
            crop_size=64,
            key_prefix="g_ba.",
        ),
    ]
    path = tmp_path / "weights.safetensors"
    save_weights(path, tensors, specs)
    return path, {"a2b": g_ab, "b2a": g_ba}


@pytest.mark.slow
def test_fp16_export_of_one_direction(tmp_path: Path, cyclegan_weights: tuple[Path, dict[str, Any]]) -> None:
    weights, generators = cyclegan_weights
    out = tmp_path / "b2a.onnx"
    result = invoke("export", weights, "--out", out, "--direction", "b2a", "--precision", "fp16")
    assert result.exit_code == 0, result.output
    assert "fp16" in result.output and "ONNX Runtime vs PyTorch" in result.output
    info = read_onnx_card(out)
    assert (info.direction, info.method, info.precision, info.crop_size) == ("b2a", "cyclegan", "fp16", 64)
    model = onnx.load(str(out))
    onnx.checker.check_model(model, full_check=True)
    # float16 weights, float32 image in and out.
    float_types = {t.data_type for t in model.graph.initializer} - {onnx.TensorProto.INT64}
    assert float_types == {onnx.TensorProto.FLOAT16}
    for value in (*model.graph.input, *model.graph.output):
        assert value.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    # ONNX Runtime 1.18+ runs these float16 graphs on the CPU; it is the b2a generator (8 channels).
    x = np.random.default_rng(0).uniform(-1, 1, (2, 3, 32, 48)).astype(np.float32)
    y = run_onnx(out, x)
    with torch.no_grad():
        expected = generators["b2a"](torch.from_numpy(x)).numpy()
    assert y.dtype == np.float32
    assert np.abs(y - expected).max() < FP16_BOUND


@pytest.mark.slow
def test_int8_export_calibrates_on_a_folder(
    tmp_path: Path, cyclegan_weights: tuple[Path, dict[str, Any]]
) -> None:
    import cv2

    weights, _ = cyclegan_weights
    calibration = tmp_path / "calibration"
    calibration.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):  # smooth images of different sizes, like photos rather than noise
        small = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        cv2.imwrite(str(calibration / f"{i}.png"), cv2.resize(small, (40 + 8 * i, 36), cv2.INTER_CUBIC))
    out = tmp_path / "int8.onnx"
    args = ("export", weights, "--out", out, "--precision", "int8", "--calibrate", calibration)
    result = invoke(*args, "--calibrate-size", 32)
    assert result.exit_code == 0, result.output
    line = next(
        x for x in result.output.splitlines() if x.startswith("int8 vs fp32 on the calibration images")
    )
    psnr = float(line.split("PSNR ")[1].split(" dB")[0])
    # A working int8 model of a 4-channel resnet stays above 20 dB (about 27 dB measured); a broken
    # quantisation (wrong scales) gives under 10 dB.
    assert 20 < psnr < 200, line
    assert "(4 images)" in line
    model = onnx.load(str(out))
    ops = {node.op_type for node in model.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= ops
    assert read_onnx_card(out).precision == "int8"
    y = run_onnx(out, np.zeros((2, 3, 16, 24)))
    assert y.shape == (2, 3, 16, 24) and np.isfinite(y).all()


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["resnet_6blocks", "unet_128"])
def test_reference_pth_exports_and_reproduces_the_reference_output(tmp_path: Path, arch: str) -> None:
    entry = MANIFEST[arch]
    out = tmp_path / "ref.onnx"
    result = invoke("export", FIXTURES / entry["file"], "--arch", arch, "--out", out, "--no-verify")
    assert result.exit_code == 0, result.output
    assert "ONNX Runtime vs PyTorch" not in result.output  # --no-verify
    info = read_onnx_card(out)
    assert (info.arch, info.method, info.precision) == (arch, "reference", "fp32")
    io = load_file(FIXTURES / entry["io"])
    y = run_onnx(out, io["input"].numpy())
    # The stored output is the reference code's own eval-mode output; float32 rounding is about 1e-6.
    assert np.abs(y - io["output"].numpy()).max() < 1e-4


@pytest.mark.parametrize("file_key", ["file", "oldstyle_file"])
def test_import_reference_writes_weights_that_load_generator_reproduces(
    tmp_path: Path, file_key: str
) -> None:
    entry = MANIFEST["resnet_6blocks"]
    out = tmp_path / "imported.safetensors"
    result = invoke("import-reference", FIXTURES / entry[file_key], "--arch", "resnet_6blocks", "--out", out)
    assert result.exit_code == 0, result.output
    (spec,) = read_model_cards(out)
    assert (spec.method, spec.direction, spec.extra) == ("reference", "a2b", {"source": entry[file_key]})
    assert spec.kwargs["base_channels"] == entry["base_channels"] and spec.kwargs["norm"] == "instance"
    loaded, _ = load_generator(out)
    original = load_reference_generator(FIXTURES / entry["file"], "resnet_6blocks")
    for (name, a), (_, b) in zip(loaded.state_dict().items(), original.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    io = load_file(FIXTURES / entry["io"])
    with torch.no_grad():
        assert (loaded(io["input"]) - io["output"]).abs().max().item() < 1e-5


def test_info_prints_onnx_metadata_and_weight_specs(
    tmp_path: Path, cyclegan_weights: tuple[Path, dict[str, Any]]
) -> None:
    weights, _ = cyclegan_weights
    result = invoke("info", weights)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("a2b: resnet_6blocks(base_channels=4")
    assert any(line.startswith("b2a: resnet_6blocks(base_channels=8") for line in lines)

    # An ONNX file with metadata, written without tracing (the header is all `info` reads).
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Identity", ["image"], ["translated"])],
        "g",
        [onnx.helper.make_tensor_value_info("image", onnx.TensorProto.FLOAT, ["batch", 1, "h", "w"])],
        [onnx.helper.make_tensor_value_info("translated", onnx.TensorProto.FLOAT, ["batch", 1, "h", "w"])],
    )
    from i2i.export import ModelCard, write_onnx_card

    model = onnx.helper.make_model(graph)
    card = ModelCard(
        "unet_256",
        {"in_channels": 1, "out_channels": 1},
        size_multiple=256,
        method="pix2pix",
        direction="b2a",
        crop_size=256,
        recipe="a: 1\n",
        precision="int8",
    )
    write_onnx_card(model, card)
    onnx.save(model, str(tmp_path / "m.onnx"))
    result = invoke("info", tmp_path / "m.onnx")
    assert result.exit_code == 0, result.output
    rows = dict(line.split(":", 1) for line in result.output.splitlines())
    assert {
        k: v.strip() for k, v in rows.items() if k in ("arch", "direction", "precision", "size multiple")
    } == {
        "arch": "unet_256",
        "direction": "b2a",
        "precision": "int8",
        "size multiple": "256",
    }
    assert rows["channels"].strip() == "1 -> 1" and rows["recipe"].strip() == "1 lines"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("export", "{tmp}/missing.safetensors", "--out", "{tmp}/m.onnx"),
            "missing.safetensors: no such file",
        ),
        (("export", "{tmp}/missing.pth", "--out", "{tmp}/m.onnx"), "missing.pth: no such file"),
        (("export", "{ref}", "--out", "{tmp}/m.onnx"), "needs --arch"),
        (
            ("export", "{ref}", "--arch", "resnet_6blocks", "--out", "{tmp}/m.onnx", "--precision", "int8"),
            "--calibrate",
        ),
        (("info", "{tmp}/missing.onnx"), "missing.onnx: no such file"),
        (("info", "{ref}"), "reads .onnx, OpenVINO .xml and .safetensors files"),
        (
            ("import-reference", "{tmp}/missing.pth", "--arch", "unet_256", "--out", "{tmp}/w.safetensors"),
            "missing.pth",
        ),
        (("import-reference", "{ref}", "--arch", "unet_256", "--out", "{tmp}/w.safetensors"), "resnet"),
    ],
)
def test_user_errors_are_one_line_naming_the_file(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    ref = FIXTURES / MANIFEST["resnet_6blocks"]["file"]
    result = invoke(*(a.format(tmp=tmp_path, ref=ref) for a in args))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and message in line
    assert not (tmp_path / "m.onnx").exists() and not (tmp_path / "w.safetensors").exists()


def test_an_output_that_is_an_input_is_refused(
    tmp_path: Path, cyclegan_weights: tuple[Path, dict[str, Any]]
) -> None:
    """`i2i export W --out W` exited 0 and destroyed the checkpoint; import-reference replaced its source."""
    weights, _ = cyclegan_weights
    before = weights.read_bytes()
    run = tmp_path / "run" / "checkpoints" / "step_00000001"
    run.mkdir(parents=True)
    (run / "weights.safetensors").write_bytes(before)
    (tmp_path / "run" / "checkpoints" / "last").write_text("step_00000001\n")
    for source, out in ((weights, weights), (tmp_path / "run", run / "weights.safetensors")):
        result = invoke("export", source, "--out", out)
        assert result.exit_code == 2 and result.output.strip().endswith("choose another output file")
        assert len(result.output.strip().splitlines()) == 1 and out.read_bytes() == before
    reference = tmp_path / "net.pth"
    reference.write_bytes((FIXTURES / MANIFEST["resnet_6blocks"]["file"]).read_bytes())
    result = invoke("import-reference", reference, "--arch", "resnet_6blocks", "--out", reference)
    assert result.exit_code == 2 and "is the input" in result.output
    assert reference.read_bytes() == (FIXTURES / MANIFEST["resnet_6blocks"]["file"]).read_bytes()


def test_a_model_that_fails_verification_never_replaces_the_good_one(
    tmp_path: Path, cyclegan_weights: tuple[Path, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Export used to rename the new file into place and verify afterwards."""
    import i2i.export.onnx as onnx_export
    from i2i.export import VerifyError

    weights, _ = cyclegan_weights
    out = tmp_path / "model.onnx"
    out.write_bytes(b"the good model")

    def failing_verify(path: Path, model: Any) -> Any:
        assert Path(path) != out and Path(path).is_file()  # the candidate is checked under a temporary name
        raise VerifyError(f"{path}: max abs difference 0.5 above 1e-4")

    monkeypatch.setattr(onnx_export, "verify_onnx", failing_verify)
    result = invoke("export", weights, "--out", out)
    assert result.exit_code == 1 and "above 1e-4" in result.output
    assert out.read_bytes() == b"the good model"
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".tmp" or p.name.startswith(".")) == []
