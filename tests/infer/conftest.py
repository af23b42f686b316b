"""Small generators saved as weight files, a folder of good and bad photos, and a backend wrapper that
counts network calls."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from i2i.card import ModelCard, describe_generator
from i2i.data.io import write_image
from i2i.infer.backends import Backend
from i2i.nn import create_generator
from i2i.weights import save_weights

WeightsFactory = Callable[..., Path]

GOOD = ["a.png", "sub/b.png", "sub/odd.png", "gray.png", "rgba.png", "rotated.jpg"]
BAD = {
    "bad/truncated.jpg": "truncated JPEG",
    "bad/empty.png": "empty file",
    "bad/text.png": "not a decodable",
}


def with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """Insert a hand-built APP1 Exif segment (big-endian TIFF, one IFD0 entry) after SOI."""
    entry = struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)  # tag, SHORT, count 1, value, padding
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1) + entry + struct.pack(">I", 0)
    payload = b"Exif\x00\x00" + tiff
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + app1 + jpeg[2:]


def random_image(height: int, width: int, channels: int) -> np.ndarray:
    return np.random.randint(0, 256, (height, width, channels), dtype=np.uint8)


def write_photo_folder(root: Path) -> Path:
    """Photos of several sizes, channels and formats (an RGBA gradient, an EXIF-rotated JPEG) and, under
    ``bad/``, three unreadable files: GOOD and BAD name them (BAD with words of each reason)."""
    write_image(root / "a.png", random_image(32, 48, 3))
    write_image(root / "sub" / "b.png", random_image(32, 48, 3))  # same size as a.png: one batch of 2
    write_image(root / "sub" / "odd.png", random_image(37, 53, 3))
    write_image(root / "gray.png", random_image(24, 24, 1))
    rgba = random_image(20, 28, 4)
    rgba[:, :, 3] = np.arange(28, dtype=np.uint8)[None, :] * 9  # a gradient, so a mix-up would show
    write_image(root / "rgba.png", rgba)
    ok, jpeg = cv2.imencode(".jpg", random_image(16, 40, 3))
    assert ok
    (root / "rotated.jpg").write_bytes(with_exif_orientation(jpeg.tobytes(), 6))
    (root / "bad").mkdir()
    (root / "bad" / "truncated.jpg").write_bytes(jpeg.tobytes()[: len(jpeg) // 2])
    (root / "bad" / "empty.png").write_bytes(b"")
    (root / "bad" / "text.png").write_text("not an image\n")
    return root


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
    from i2i.infer.torch_backend import TorchBackend
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
