"""Small generators saved as weight files, and a backend wrapper that counts network calls."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from i2i.card import ModelCard, describe_generator
from i2i.infer.backends import Backend
from i2i.nn import create_generator
from i2i.weights import save_weights

WeightsFactory = Callable[..., Path]


def save_tiny_generator(
    path: Path, *, arch: str = "resnet_6blocks", in_channels: int = 3, out_channels: int = 3, **kwargs: object
) -> Path:
    """A randomly initialised generator (Kaiming init, so outputs vary and use the whole range) as weights."""
    kwargs = {"in_channels": in_channels, "out_channels": out_channels, "base_channels": 4, **kwargs}
    generator = create_generator(arch, **kwargs, init="kaiming")
    card = describe_generator(generator, arch=arch, kwargs=kwargs, method="pix2pix", crop_size=32)
    save_weights(path, generator.state_dict(), generators=[card])
    return path


@pytest.fixture
def make_weights(tmp_path: Path) -> WeightsFactory:
    counter = iter(range(1000))

    def make(**kwargs: object) -> Path:
        return save_tiny_generator(tmp_path / f"model{next(counter)}.safetensors", **kwargs)

    return make


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(weights, model.onnx)``: one tiny ResNet as a weights file and its fp32 ONNX export (exported once:
    the export takes seconds)."""
    from i2i.export.onnx import export_onnx
    from i2i.infer.backends import TorchBackend
    from i2i.weights import load_generator

    root = tmp_path_factory.mktemp("onnx_model")
    weights = save_tiny_generator(root / "model.safetensors")
    module, _ = load_generator(weights)
    onnx_path = root / "model.onnx"
    export_onnx(module, TorchBackend.load(weights, device="cpu").card, onnx_path, verify=False)
    return weights, onnx_path


class CountingBackend:
    """Wraps a backend and counts its calls and the images it saw."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.card: ModelCard = inner.card
        self.name = inner.name
        self.calls = 0
        self.images = 0
        self.shapes: list[tuple[int, ...]] = []

    def run(self, batch: np.ndarray) -> np.ndarray:
        self.calls += 1
        self.images += batch.shape[0]
        self.shapes.append(tuple(batch.shape))
        return self.inner.run(batch)
