"""Translator: channels, alpha, odd sizes, resize, and the same numbers from ONNX Runtime and PyTorch."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from i2i.data.io import convert_channels
from i2i.infer import OnnxBackend, TorchBackend, Translator
from i2i.infer.backends import onnx_providers

WeightsFactory = Callable[..., Path]


def _image(height: int, width: int, channels: int) -> np.ndarray:
    return np.random.randint(0, 256, (height, width, channels), dtype=np.uint8)


def test_odd_sizes_come_back_at_exactly_the_input_size(make_weights: WeightsFactory) -> None:
    translator = Translator(make_weights(), device="cpu")
    out = translator.translate(_image(37, 53, 3))
    assert out.shape == (37, 53, 3) and out.dtype == np.uint8
    assert out.std() > 5  # Kaiming-initialised network: a real image, not a flat one


def test_gray_input_for_an_rgb_model_is_replicated(make_weights: WeightsFactory) -> None:
    translator = Translator(make_weights(), device="cpu")
    gray = _image(24, 32, 1)
    out = translator.translate(gray)
    assert out.shape == (24, 32, 3)
    np.testing.assert_array_equal(out, translator.translate(np.repeat(gray, 3, axis=2)))
    np.testing.assert_array_equal(out, translator.translate(gray[:, :, 0]))  # (H, W) works too


def test_rgb_input_for_a_gray_model_uses_luma(make_weights: WeightsFactory) -> None:
    translator = Translator(make_weights(in_channels=1, out_channels=1), device="cpu")
    rgb = _image(24, 32, 3)
    out = translator.translate(rgb)
    assert out.shape == (24, 32, 1)
    np.testing.assert_array_equal(out, translator.translate(convert_channels(rgb, 1)))


def test_alpha_is_carried_over_unchanged(make_weights: WeightsFactory) -> None:
    translator = Translator(make_weights(), device="cpu")
    rgba = _image(20, 28, 4)
    out = translator.translate(rgba)
    assert out.shape == (20, 28, 4)
    np.testing.assert_array_equal(out[:, :, 3], rgba[:, :, 3])
    np.testing.assert_array_equal(out[:, :, :3], translator.translate(rgba[:, :, :3]))
    gray_out = Translator(make_weights(out_channels=1), device="cpu").translate(rgba)
    assert gray_out.shape == (20, 28, 4)  # gray + alpha is written as RGBA
    np.testing.assert_array_equal(gray_out[:, :, 3], rgba[:, :, 3])


def test_resize_sets_the_shorter_side_rounded_to_the_size_multiple(make_weights: WeightsFactory) -> None:
    translator = Translator(make_weights(), device="cpu", resize=30)
    out = translator.translate(_image(60, 90, 4))
    # 60 x 90 -> 30 x 45 -> multiples of 4: 32 x 44 (nearest); alpha is resized with the image.
    assert out.shape == (32, 44, 4)


def test_a_batch_gives_the_same_pixels_as_one_by_one(make_weights: WeightsFactory) -> None:
    translator = Translator(make_weights(norm="batch"), device="cpu", batch_size=2)
    images = [_image(16, 20, 3) for _ in range(3)]
    batched = translator.translate_batch(images)
    # Float32 results of a batch of 2 and of 1 may differ in the last bits: at most one uint8 level.
    for image, out in zip(images, batched, strict=True):
        assert np.abs(out.astype(int) - translator.translate(image).astype(int)).max() <= 1


def test_onnx_and_torch_backends_agree(onnx_model: tuple[Path, Path]) -> None:
    weights, onnx_path = onnx_model
    torch_backend = TorchBackend.load(weights, device="cpu")
    onnx_backend = OnnxBackend(onnx_path, device="cpu")
    assert onnx_backend.card.size_multiple == torch_backend.card.size_multiple == 4
    batch = np.random.rand(2, 3, 36, 52).astype(np.float32) * 2 - 1
    # Same float32 graph on two runtimes: differences come from summation order only (~1e-6).
    np.testing.assert_allclose(onnx_backend.run(batch), torch_backend.run(batch), atol=1e-4)
    image = _image(30, 41, 3)
    via_onnx = Translator(onnx_path, device="cpu").translate(image).astype(int)
    via_torch = Translator(weights, device="cpu").translate(image).astype(int)
    assert np.abs(via_onnx - via_torch).max() <= 1


def test_bf16_autocast_stays_close_to_fp32(make_weights: WeightsFactory) -> None:
    weights = make_weights()
    batch = np.random.rand(1, 3, 32, 32).astype(np.float32) * 2 - 1
    fp32 = TorchBackend.load(weights, device="cpu").run(batch)
    bf16 = TorchBackend.load(weights, device="cpu", precision="bf16").run(batch)
    assert bf16.dtype == np.float32 and bf16.shape == fp32.shape
    # bf16 keeps 8 bits of mantissa (relative error 2^-9 per op); through ~20 layers the mean error in
    # [-1, 1] units stays near 0.01 (the lead measured 0.008 on resnet_9blocks), far below 0.05.
    assert 0 < np.abs(bf16 - fp32).mean() < 0.05


def test_options_that_do_not_apply_are_refused(onnx_model: tuple[Path, Path]) -> None:
    weights, onnx_path = onnx_model
    with pytest.raises(ValueError, match="fp16 needs a CUDA device"):
        Translator(weights, device="cpu", precision="fp16")
    with pytest.raises(ValueError, match="multiple of the model's size multiple 4"):
        Translator(weights, device="cpu", tile=30)
    with pytest.raises(ValueError, match="not available with PyTorch"):
        Translator(weights, device="tensorrt")
    with pytest.raises(ValueError, match="precision is set at export"):
        Translator(onnx_path, precision="bf16")


def test_execution_providers_fastest_first_and_clear_errors() -> None:
    everything = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    assert onnx_providers("auto", everything) == everything
    assert onnx_providers("cuda", everything) == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert onnx_providers("auto", ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    with pytest.raises(ValueError, match="CUDAExecutionProvider, which is not installed"):
        onnx_providers("cuda", ["CPUExecutionProvider"])


def test_resize_gives_the_pixels_the_training_pipeline_gives(make_weights: WeightsFactory) -> None:
    """``Translator(resize=S)`` feeds the network what eval-mode preprocessing at size S produces."""
    import torch

    from i2i.data.transforms import PairedTransform

    image = np.random.default_rng(2).integers(0, 256, (96, 96, 3), dtype=np.uint8)
    prepared = Translator(make_weights(), device="cpu", resize=32).prepare(image)
    expected, _ = PairedTransform(preprocess="resize_and_crop", crop_size=32, train=False)(image)
    torch.testing.assert_close(torch.from_numpy(prepared.array), expected, rtol=0, atol=1e-6)


def test_large_images_go_through_the_network_in_smaller_batches(
    onnx_model: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from i2i.infer import translator as translator_module
    from tests.infer.conftest import CountingBackend

    _, onnx_path = onnx_model
    backend = CountingBackend(OnnxBackend(onnx_path, device="cpu"))
    translator = Translator(backend, batch_size=4)
    images = [np.random.randint(0, 256, (32, 48, 3), dtype=np.uint8) for _ in range(5)]
    together = translator.translate_batch(images)
    assert backend.shapes == [(4, 3, 32, 48), (1, 3, 32, 48)]
    monkeypatch.setattr(translator_module, "MAX_BATCH_PIXELS", 2 * 32 * 48 + 100)  # room for two images
    backend.shapes.clear()
    apart = translator.translate_batch(images)
    assert backend.shapes == [(2, 3, 32, 48), (2, 3, 32, 48), (1, 3, 32, 48)]
    for a, b in zip(together, apart, strict=True):  # the same pictures, up to float rounding of a batch
        assert np.abs(a.astype(int) - b).max() <= 1


def test_an_exported_model_translates_without_importing_torch(
    onnx_model: tuple[Path, Path], tmp_path: Path
) -> None:
    """Exported models are for deployment: the Translator, the folder engine, the ray engine's stages and
    the CLI run them without torch or albumentations (3 s of start-up here; about 0.8 s without)."""
    _, model = onnx_model
    (tmp_path / "in").mkdir()
    np.save(tmp_path / "image.npy", _image(40, 56, 3))
    script = f"""
import sys
import numpy as np
from pathlib import Path
from i2i.cli import app
from i2i.data.io import write_image
from i2i.infer import Translator, translate_folder
import i2i.infer.ray_engine

image = np.load({str(tmp_path / "image.npy")!r})
translator = Translator({str(model)!r})
write_image(Path({str(tmp_path / "in" / "a.png")!r}), translator.translate(image))
assert translate_folder(translator, Path({str(tmp_path / "in")!r}), Path({str(tmp_path / "api")!r})).ok
try:
    app(["translate", {str(tmp_path / "in")!r}, "--model", {str(model)!r}, "--out", {str(tmp_path / "cli")!r}], prog_name="i2i")
except SystemExit as exit:
    assert exit.code == 0, exit.code
print(sorted(name for name in ("torch", "albumentations") if name in sys.modules))
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "api" / "a.png").is_file() and (tmp_path / "cli" / "a.png").is_file()
