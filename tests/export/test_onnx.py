"""Export of every registered generator: parity with PyTorch, dynamic axes, metadata, checker."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

from i2i.export import (
    ExportError,
    ExportReport,
    ModelCard,
    VerifyError,
    export_onnx,
    export_onnx_with_report,
    read_onnx_card,
    verify_onnx,
)
from i2i.export.verify import FP32_ATOL, default_sizes, error_stats
from i2i.nn import GENERATORS


@dataclasses.dataclass
class Exported:
    name: str
    generator: nn.Module
    card: ModelCard
    report: ExportReport
    training_after_export: bool


# Image-to-image generators; the stargan generator (a second "domain" input) is exported in
# tests/export/test_onnx_domains.py, the dcgan generator (noise + label, no image) is not exported.
@pytest.fixture(scope="module", params=[n for n in GENERATORS.names() if n not in ("dcgan", "stargan")])
def exported(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    make_generator: Callable[..., Any],
) -> Exported:
    name = request.param
    generator, info = make_generator(name)
    generator.train()  # export must use eval mode without touching the caller's module
    path = tmp_path_factory.mktemp(name) / "model.onnx"
    report = export_onnx_with_report(generator, info, path)  # verifies at two sizes, batch 1 and 2
    training_after_export = generator.training
    return Exported(name, generator.eval(), info, report, training_after_export)


@pytest.mark.slow
def test_export_matches_pytorch_at_two_sizes_and_batch_two(exported: Exported) -> None:
    report = exported.report.verify
    assert report is not None
    side = default_sizes(exported.card.size_multiple)[0][0]
    assert report.shapes == ((1, 3, side, side), (2, 3, 2 * side, side))
    assert report.error.max_abs < FP32_ATOL
    assert exported.training_after_export  # exported from an eval copy; the caller's module is untouched
    # The bound only means something if the outputs are not all near zero.
    x = torch.rand(1, 3, side, side) * 2 - 1
    with torch.no_grad():
        assert exported.generator(x).std().item() > 0.1


def test_metadata_round_trips_through_the_file(exported: Exported) -> None:
    stored = read_onnx_card(exported.report.path)
    assert stored == dataclasses.replace(exported.card, precision="fp32")
    assert stored == exported.report.card
    assert stored.recipe == "name: test\n"


def test_graph_passes_the_checker_and_has_no_training_ops(exported: Exported) -> None:
    model = onnx.load(str(exported.report.path))
    onnx.checker.check_model(model, full_check=True)
    ops = {node.op_type for node in model.graph.node}
    # Eval mode: batch norm folded into the convolutions, dropout removed.
    assert not ops & {"BatchNormalization", "Dropout", "RandomUniformLike", "RandomNormalLike"}
    assert {"Conv", "ConvTranspose", "Tanh"} <= ops


def test_batch_height_and_width_are_dynamic(exported: Exported) -> None:
    model = onnx.load(str(exported.report.path))
    (image,), (translated,) = model.graph.input, model.graph.output
    assert (image.name, translated.name) == ("image", "translated")
    m = exported.card.size_multiple
    for value in (image, translated):
        dims = [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
        assert dims == ["batch", 3, f"{m}*height", f"{m}*width"]
    # Sizes the example input did not have: a batch of 3 and a non-square multiple.
    session = ort.InferenceSession(str(exported.report.path), providers=["CPUExecutionProvider"])
    side = default_sizes(m)[0][0]
    x = np.random.default_rng(1).uniform(-1, 1, (3, 3, side, 3 * side)).astype(np.float32)
    (y,) = session.run(None, {"image": x})
    with torch.no_grad():
        expected = exported.generator(torch.from_numpy(x)).numpy()
    assert y.shape == (3, 3, side, 3 * side)
    assert np.abs(y - expected).max() < FP32_ATOL


def test_verify_catches_a_model_that_differs(exported: Exported) -> None:
    changed = copy.deepcopy(exported.generator)
    with torch.no_grad():
        next(changed.parameters()).add_(0.05)
    with pytest.raises(VerifyError, match="differs from PyTorch"):
        verify_onnx(exported.report.path, changed, sizes=default_sizes(exported.card.size_multiple)[:1])


def test_verify_rejects_sizes_that_are_not_multiples(exported: Exported) -> None:
    m = exported.card.size_multiple
    with pytest.raises(ValueError, match=f"not a multiple of {m}"):
        verify_onnx(exported.report.path, exported.generator, sizes=((m, m), (m * 3 // 2, m)))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"opset": 16}, "opset 16 is too old"),
        ({"precision": "fp8"}, "unknown precision 'fp8'"),
        ({"precision": "int8"}, "needs calibration images: pass --calibrate"),
        ({"precision": "int8", "calibration_images": Path("/nonexistent/dir")}, "does not exist"),
    ],
)
def test_bad_options_fail_before_tracing(
    tmp_path: Path, make_generator: Callable[..., Any], options: dict[str, object], message: str
) -> None:
    generator, info = make_generator("resnet_6blocks")
    with pytest.raises(ExportError, match=message):
        export_onnx(generator, info, tmp_path / "g.onnx", **options)  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())  # nothing written, not even a temporary file


def test_error_stats_on_hand_computed_values() -> None:
    out = np.array([[0.0, 0.5, -1.0, 1.0]])
    ref = np.array([[0.0, 0.0, -1.0, 0.0]])
    stats = error_stats(out, ref)
    # diffs 0, 0.5, 0, 1: mean 0.375, max 1, mse 1.25 / 4; PSNR = 10 log10(2^2 / 0.3125) = 11.07 dB
    assert (stats.mean_abs, stats.max_abs, stats.count) == (0.375, 1.0, 1)
    assert stats.psnr == pytest.approx(11.0721, abs=1e-4)
    assert error_stats(ref, ref).psnr == float("inf")
    with pytest.raises(ValueError, match="differs from the reference shape"):
        error_stats(out, ref[:, :2])


def test_default_sizes_are_multiples_of_at_least_64_px() -> None:
    assert default_sizes(4) == ((64, 64), (128, 64))
    assert default_sizes(128) == ((128, 128), (256, 128))
    assert default_sizes(256) == ((256, 256), (512, 256))


@pytest.mark.parametrize("where", ["parent", "absolute", "link"])
def test_external_data_outside_the_model_folder_is_refused(
    tmp_path: Path, make_generator: Callable[..., Any], where: str
) -> None:
    from i2i.card import CardError
    from i2i.infer import Translator

    generator, card = make_generator("resnet_6blocks")
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    exported_path = export_onnx_with_report(generator, card, tmp_path / "plain.onnx").path
    model = onnx.load(str(exported_path))
    onnx.save_model(model, str(model_dir / "ok.onnx"), save_as_external_data=True, location="ok.bin")
    image = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    expected = Translator(exported_path, device="cpu").translate(image)
    # The legitimate layout (data beside the model) is read, and gives the same result.
    assert np.array_equal(Translator(model_dir / "ok.onnx", device="cpu").translate(image), expected)

    outside = tmp_path / "outside.bin"
    outside.write_bytes((model_dir / "ok.bin").read_bytes())
    location = {"parent": "../outside.bin", "absolute": str(outside), "link": "link.bin"}[where]
    if where == "link":
        (model_dir / "link.bin").symlink_to(outside)
    hostile = onnx.load(str(model_dir / "ok.onnx"), load_external_data=False)
    for tensor in hostile.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = location
    (model_dir / "hostile.onnx").write_bytes(hostile.SerializeToString())
    with pytest.raises(CardError, match=r"hostile\.onnx: tensor .* outside the model's folder"):
        read_onnx_card(model_dir / "hostile.onnx")
    with pytest.raises(CardError, match="outside the model's folder"):
        Translator(model_dir / "hostile.onnx", device="cpu")
