"""The OpenVINO backend: parity with ONNX Runtime, bf16 and int8 quality, IR export, folders with bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from i2i.cli import app
from i2i.data.io import read_image, write_image
from i2i.infer import OnnxBackend, Translator
from i2i.infer.openvino import OpenVinoBackend, cpu_features
from tests.infer.test_pipeline import BAD, GOOD, photos  # noqa: F401  (photos is a fixture)

ov = pytest.importorskip("openvino", reason="OpenVINO is an optional extra: pip install i2i[openvino]")

NATIVE_BF16 = cpu_features().native_bf16


def _inputs(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


@pytest.mark.parametrize("mode", ["latency", "throughput"])
def test_fp32_matches_onnxruntime(onnx_model: tuple[Path, Path], mode: str) -> None:
    _, onnx_path = onnx_model
    reference = OnnxBackend(onnx_path, device="cpu")
    backend = OpenVinoBackend(onnx_path, precision="fp32", mode=mode)
    assert backend.card == reference.card.replace(precision="fp32")  # the card read from the same file
    for shape in [(1, 3, 32, 48), (3, 3, 40, 24)]:  # dynamic batch, height and width
        x = _inputs(shape)
        np.testing.assert_allclose(backend.run(x), reference.run(x), rtol=0, atol=1e-4)


@pytest.mark.skipif(not NATIVE_BF16, reason="this CPU has no native bf16 (AVX512-BF16 / AMX)")
def test_bf16_is_close_to_fp32_and_really_bf16(onnx_model: tuple[Path, Path]) -> None:
    # bf16 keeps 8 significant bits: each rounding of an activation or weight is off by up to 2^-9 (0.2%)
    # relative. Convolutions accumulate in f32 and instance norm re-normalises after each one, so the
    # errors do not compound over the ~20 layers: the measured mean abs error on this model is ~0.004
    # and the max ~0.03 on outputs in [-1, 1]. The bounds are 3x that: a broken cast (outputs off by
    # 0.1s everywhere) fails them, an f32 run (errors ~1e-6) fails the lower bound.
    _, onnx_path = onnx_model
    x = _inputs((2, 3, 48, 64))
    expected = OnnxBackend(onnx_path, device="cpu").run(x)
    backend = OpenVinoBackend(onnx_path)  # auto
    assert backend.precision == "bf16" and "bf16" in backend.name
    error = np.abs(backend.run(x) - expected)
    assert 1e-4 < error.mean() < 0.012 and error.max() < 0.1


def test_fp32_ir_export_keeps_the_card_and_is_chosen_by_its_suffix(
    onnx_model: tuple[Path, Path], tmp_path: Path
) -> None:
    weights, onnx_path = onnx_model
    out = tmp_path / "model.xml"
    result = CliRunner().invoke(app, ["export", str(weights), "--format", "openvino", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.bin", "model.xml"]  # no temporaries left
    info = CliRunner().invoke(app, ["info", str(out)])
    assert info.exit_code == 0 and "arch:          resnet_6blocks" in info.output, info.output
    translator = Translator(out, precision="fp32")
    assert isinstance(translator.backend, OpenVinoBackend)
    reference = OnnxBackend(onnx_path, device="cpu")
    assert translator.card == reference.card
    x = _inputs((2, 3, 32, 32))
    np.testing.assert_allclose(translator.backend.run(x), reference.run(x), rtol=0, atol=1e-4)


@pytest.mark.slow  # NNCF's statistics and bias correction: ~10 s on 2 cores
def test_int8_export_quantises_convtranspose_and_reports_psnr(
    onnx_model: tuple[Path, Path], tmp_path: Path
) -> None:
    weights, onnx_path = onnx_model
    calib = tmp_path / "calib"
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:48, 0:48] / 48
    for i in range(8):  # smooth photos with noise: activations like real images, not uniform noise
        image = np.stack([np.sin(3 * xx + 2 * yy * (c + 1) + i) for c in range(3)], axis=2) * 100 + 128
        write_image(
            calib / f"{i}.png", np.clip(image + rng.normal(0, 8, image.shape), 0, 255).astype(np.uint8)
        )
    out = tmp_path / "int8" / "model.xml"
    args = ["export", str(weights), "--format", "openvino", "--precision", "int8", "--calibrate", str(calib)]
    result = CliRunner().invoke(app, [*args, "--calibrate-size", "32", "-o", str(out)])
    assert result.exit_code == 0, result.output
    line = next(
        x for x in result.output.splitlines() if x.startswith("int8 vs fp32 on the calibration images")
    )
    psnr = float(line.split("PSNR ")[1].split(" dB")[0])
    assert 20 < psnr < 80  # quantised (not identical) and not broken

    model = ov.Core().read_model(str(out))
    quantized_inputs = {
        op.get_type_name()
        for op in model.get_ordered_ops()
        if op.get_type_name() in ("Convolution", "ConvolutionBackpropData")
        and any(i.get_node().get_type_name() == "FakeQuantize" for i in op.input_values())
    }
    assert quantized_inputs == {"Convolution", "ConvolutionBackpropData"}  # transposed convolutions too

    backend = OpenVinoBackend(out, mode="throughput")
    assert backend.precision == "int8" and backend.card.precision == "int8"
    x = _inputs((2, 3, 32, 32))
    error = np.abs(backend.run(x) - OnnxBackend(onnx_path, device="cpu").run(x))
    assert error.mean() < 0.2
    with pytest.raises(ValueError, match="is an int8 model"):
        OpenVinoBackend(out, precision="fp32")


def test_int8_of_an_fp32_model_and_fp16_are_one_line_cli_errors(
    onnx_model: tuple[Path, Path], tmp_path: Path
) -> None:
    _, onnx_path = onnx_model
    (tmp_path / "in").mkdir()
    base = ["translate", str(tmp_path / "in"), "-m", str(onnx_path), "-o", str(tmp_path / "out")]
    for precision, message in [("int8", "needs an int8 model"), ("fp16", "unknown precision 'fp16'")]:
        result = CliRunner().invoke(app, [*base, "--backend", "openvino", "--precision", precision])
        assert result.exit_code == 2
        assert len(result.output.strip().splitlines()) == 1 and message in result.output


@pytest.mark.slow  # ~3 s: nine files through the pipeline
def test_folder_with_bad_files_like_onnxruntime(
    photos: Path,  # noqa: F811
    tmp_path: Path,
    onnx_model: tuple[Path, Path],
) -> None:
    _, onnx_path = onnx_model
    outputs = {}
    for backend in ("onnxruntime", "openvino"):
        out = tmp_path / backend
        args = ["translate", str(photos), "-m", str(onnx_path), "-o", str(out), "--no-progress"]
        result = CliRunner().invoke(
            app, [*args, "--backend", backend, "--precision", "fp32", "--format", "png"]
        )
        assert result.exit_code == 1, result.output
        assert "6 translated, 0 skipped, 3 failed" in result.output
        assert f"with {backend}" in result.output  # the summary says what ran
        for name, reason in BAD.items():
            assert f"failed: {photos / name}: " in result.output and reason in result.output
        outputs[backend] = {p.relative_to(out): read_image(p) for p in out.rglob("*") if p.is_file()}
    assert sorted(outputs["openvino"]) == sorted(outputs["onnxruntime"]) and len(outputs["openvino"]) == len(
        GOOD
    )
    for name, expected in outputs["onnxruntime"].items():  # lossless PNG: at most one level of rounding
        assert np.abs(outputs["openvino"][name].astype(int) - expected).max() <= 1, name
