"""Inference: translate images, batches and whole folders with an ONNX model or a PyTorch generator.

``Translator(model).translate(image)`` for one image (``backend="openvino"`` for OpenVINO on CPUs);
``translate_folder(translator, src, dst)`` (or ``i2i translate``) for a folder, with decoding and
encoding overlapped with the network.
"""

from __future__ import annotations

from i2i.infer.backends import Backend, OnnxBackend, TorchBackend, load_backend
from i2i.infer.openvino import OpenVinoBackend
from i2i.infer.pipeline import Failure, TranslateSummary, translate_folder
from i2i.infer.translator import Prepared, Translator

__all__ = [
    "Backend",
    "Failure",
    "OnnxBackend",
    "OpenVinoBackend",
    "Prepared",
    "TorchBackend",
    "TranslateSummary",
    "Translator",
    "load_backend",
    "translate_folder",
]
