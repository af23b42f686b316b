"""Whole-image instance-norm statistics for exported ONNX models (i2i.infer.graph_statistics)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from i2i.card import describe_generator
from i2i.export.onnx import export_onnx
from i2i.infer import Translator
from i2i.infer.backends import OnnxBackend
from i2i.infer.graph_statistics import (
    REGION_INPUT,
    STATISTICS_INPUT,
    USE_STATISTICS_INPUT,
    statistics_graph,
)
from i2i.infer.statistics import moments
from i2i.nn import ResnetGenerator


def _export(root: Path, norm: str = "instance", precision: str = "fp32") -> tuple[ResnetGenerator, Path]:
    torch.manual_seed(0)
    kwargs = {"num_blocks": 1, "norm": norm, "base_channels": 4}
    generator = ResnetGenerator(**kwargs, init="kaiming").eval()  # type: ignore[arg-type]
    card = describe_generator(
        generator, arch="resnet_1blocks", kwargs=kwargs, method="cyclegan", crop_size=32
    )
    path = root / f"{norm}_{precision}.onnx"
    export_onnx(generator, card, path, verify=False, precision=precision)
    return generator, path


@pytest.fixture(scope="module")
def instance_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[ResnetGenerator, Path]:
    return _export(tmp_path_factory.mktemp("graph_statistics"))


def _image(size: int = 216) -> np.ndarray:
    """uint8 (size, size, 3): smooth random colours, so neighbouring tiles differ in tone."""
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (27, 25, 3), dtype=np.uint8)
    return cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)


def _norm_inputs(generator: ResnetGenerator, x: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Mean and biased variance of each instance norm's input (the whole image), in forward order."""
    found: list[tuple[np.ndarray, np.ndarray]] = []

    def hook(_module: torch.nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        t = args[0][0].double()
        found.append((t.mean(dim=(1, 2)).numpy(), t.var(dim=(1, 2), unbiased=False).numpy()))

    norms = [m for m in generator.modules() if isinstance(m, torch.nn.InstanceNorm2d)]
    handles = [m.register_forward_pre_hook(hook) for m in norms]
    with torch.no_grad():
        generator(torch.from_numpy(x))
    for handle in handles:
        handle.remove()
    return found


def _session(proto: onnx.ModelProto) -> ort.InferenceSession:
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def test_rewritten_graph_reports_each_norms_statistics_and_normalises_with_given_ones(
    instance_model: tuple[ResnetGenerator, Path],
) -> None:
    generator, path = instance_model
    proto = onnx.load(str(path))
    graph = statistics_graph(proto)
    assert graph is not None
    assert graph.channels == (4, 8, 16, 16, 16, 8, 4)  # stem, 2 downsamplings, 1 block (2 norms), 2 ups
    assert [n.op_type for n in proto.graph.node].count("InstanceNormalization") == 7  # original untouched
    assert all(n.op_type != "InstanceNormalization" for n in graph.proto.graph.node)
    x = np.random.default_rng(1).uniform(-1, 1, (1, 3, 64, 48)).astype(np.float32)
    (original,) = _session(proto).run(None, {"image": x})
    session = _session(graph.proto)
    k, n = len(graph.channels), graph.total_channels
    ones = np.ones((1, 1, 64, 48), np.float32)

    # own statistics (flags 0), the whole image as region: the original output, and every norm's moments
    output, sums = session.run(
        None,
        {
            "image": x,
            STATISTICS_INPUT: np.zeros((2, n), np.float32),
            USE_STATISTICS_INPUT: np.zeros(k, np.float32),
            REGION_INPUT: ones,
        },
    )
    np.testing.assert_allclose(output, original, atol=1e-5)
    mean, var = moments(*sums[0].astype(np.float64))
    expected = _norm_inputs(generator, x)
    np.testing.assert_allclose(mean, np.concatenate([m for m, _ in expected]), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(var, np.concatenate([v for _, v in expected]), rtol=1e-4, atol=1e-5)
    assert sums[0, 0, 0] == 64 * 48 and sums[0, 0, -1] == 64 * 48 and sums[0, 0, 4] == 32 * 24

    # given statistics (flags 1) equal to the image's own: the same output; other statistics: another one
    given = np.stack([mean, var]).astype(np.float32)
    use = np.ones(k, np.float32)
    fixed, _ = session.run(
        None, {"image": x, STATISTICS_INPUT: given, USE_STATISTICS_INPUT: use, REGION_INPUT: ones}
    )
    np.testing.assert_allclose(fixed, original, atol=1e-4)
    shifted, _ = session.run(
        None, {"image": x, STATISTICS_INPUT: given * 1.5, USE_STATISTICS_INPUT: use, REGION_INPUT: ones}
    )
    assert np.abs(shifted - original).mean() > 0.01

    # a region mask sums only its pixels: the left half at full, half and quarter resolution
    half = ones.copy()
    half[..., 24:] = 0
    _, part = session.run(
        None, {"image": x, STATISTICS_INPUT: given, USE_STATISTICS_INPUT: use, REGION_INPUT: half}
    )
    assert part[0, 0, 0] == 64 * 24 and part[0, 0, 4] == 32 * 12 and part[0, 0, 12] == 16 * 6


def test_graph_without_instance_norm_needs_no_rewrite(tmp_path: Path) -> None:
    _, path = _export(tmp_path, norm="batch")
    assert statistics_graph(onnx.load(str(path))) is None
    assert OnnxBackend(path, device="cpu").norms is None


@pytest.mark.parametrize("statistics", ["whole", "tile"])
def test_tiled_onnx_model_matches_whole_image_inference(
    instance_model: tuple[ResnetGenerator, Path], statistics: str
) -> None:
    # Exported graphs used to normalise every tile with its own statistics (the op computes them inside):
    # 20-30 levels off. With the rewritten graph measuring the whole image first, tiling changes nothing
    # beyond float rounding (216 = 144 + 72: the tiles cover the image exactly, as in the PyTorch test).
    _, path = instance_model
    backend = OnnxBackend(path, device="cpu")
    image = _image()
    whole = Translator(backend).translate(image).astype(int)
    tiled = Translator(backend, tile=144, overlap=72, tile_statistics=statistics).translate(image).astype(int)
    difference = np.abs(tiled - whole)
    if statistics == "tile":
        assert difference.mean() > 2
    else:
        assert difference.max() <= 2 and difference.mean() < 0.05


def test_fp16_model_is_measured_in_float32(tmp_path: Path) -> None:
    _, path = _export(tmp_path, precision="fp16")
    backend = OnnxBackend(path, device="cpu")
    image = _image()
    whole = Translator(backend).translate(image).astype(int)
    tiled = Translator(backend, tile=144, overlap=72).translate(image).astype(int)
    own = Translator(backend, tile=144, overlap=72, tile_statistics="tile").translate(image).astype(int)
    assert np.abs(tiled - whole).mean() < 0.5 < 2 < np.abs(own - whole).mean()


def test_openvino_reads_the_rewritten_graph(instance_model: tuple[ResnetGenerator, Path]) -> None:
    pytest.importorskip("openvino", reason="OpenVINO is an optional extra: pip install i2i[openvino]")
    from i2i.infer.openvino import OpenVinoBackend

    _, path = instance_model
    backend = OpenVinoBackend(path, precision="fp32")
    image = _image()
    whole = Translator(backend).translate(image).astype(int)
    tiled = Translator(backend, tile=144, overlap=72).translate(image).astype(int)
    difference = np.abs(tiled - whole)
    assert difference.max() <= 2 and difference.mean() < 0.05
