"""Deployment: ONNX export with preprocessing metadata, PyTorch parity checks, fp16 and int8 precision.

``export_onnx(generator, card, path)`` writes the model; ``verify_onnx(path, generator)`` compares it with
PyTorch; ``read_onnx_card(path)`` reads back how to feed it.
"""

from __future__ import annotations

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
