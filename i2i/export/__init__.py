"""Deployment: ONNX export with preprocessing metadata, PyTorch parity checks, fp16 and int8 precision.

``export_onnx(generator, card, path)`` writes the model; ``verify_onnx(path, generator)`` compares it with
PyTorch; ``read_onnx_card(path)`` reads back how to feed it. Names are resolved lazily (as in
:mod:`i2i`): reading an exported model's card does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from i2i.lazy import lazy_attributes

_PUBLIC = {
    "i2i.card": ("ModelCard",),
    "i2i.export.metadata": ("read_onnx_card", "write_onnx_card"),
    "i2i.export.onnx": (
        "PRECISIONS",
        "ExportError",
        "ExportReport",
        "export_onnx",
        "export_onnx_with_report",
        "load_source",
    ),
    "i2i.export.quantize": ("CALIBRATE_METHODS", "CalibrationError"),
    "i2i.export.verify": ("ErrorStats", "VerifyError", "VerifyReport", "verify_onnx"),
}

__all__ = [
    "CALIBRATE_METHODS",
    "PRECISIONS",
    "CalibrationError",
    "ErrorStats",
    "ExportError",
    "ExportReport",
    "ModelCard",
    "VerifyError",
    "VerifyReport",
    "export_onnx",
    "export_onnx_with_report",
    "load_source",
    "read_onnx_card",
    "verify_onnx",
    "write_onnx_card",
]

if TYPE_CHECKING:
    from i2i.card import ModelCard
    from i2i.export.metadata import read_onnx_card, write_onnx_card
    from i2i.export.onnx import (
        PRECISIONS,
        ExportError,
        ExportReport,
        export_onnx,
        export_onnx_with_report,
        load_source,
    )
    from i2i.export.quantize import CALIBRATE_METHODS, CalibrationError
    from i2i.export.verify import ErrorStats, VerifyError, VerifyReport, verify_onnx

__getattr__ = lazy_attributes(__name__, _PUBLIC)
