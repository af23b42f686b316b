"""Inference: translate images, batches and whole folders with an ONNX model or a PyTorch generator.

``Translator(model).translate(image)`` for one image (``backend="openvino"`` for OpenVINO on CPUs);
``translate_folder(translator, src, dst)`` (or ``i2i translate``) for a folder, with decoding and
encoding overlapped with the network.

Names are resolved lazily (as in :mod:`i2i`): an exported model is translated without importing torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from i2i.lazy import lazy_attributes

_PUBLIC = {
    "i2i.infer.backends": ("Backend", "OnnxBackend", "load_backend"),
    "i2i.infer.torch_backend": ("TorchBackend",),
    "i2i.infer.openvino": ("OpenVinoBackend",),
    "i2i.infer.pipeline": ("Failure", "TranslateSummary", "translate_folder"),
    "i2i.infer.translator": ("Prepared", "Translator"),
}

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

if TYPE_CHECKING:
    from i2i.infer.backends import Backend, OnnxBackend, load_backend
    from i2i.infer.openvino import OpenVinoBackend
    from i2i.infer.pipeline import Failure, TranslateSummary, translate_folder
    from i2i.infer.torch_backend import TorchBackend
    from i2i.infer.translator import Prepared, Translator


__getattr__ = lazy_attributes(__name__, _PUBLIC)
