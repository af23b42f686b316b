"""OpenVINO IR export (``.xml`` + ``.bin``), fp32 or static int8 quantised by NNCF on the user's photos.

``i2i export SOURCE --format openvino --out model.xml [--precision int8 --calibrate DIR]`` traces the
generator to ONNX as for ``--format onnx`` (:func:`~i2i.export.onnx.trace_to_onnx`), reads it into
OpenVINO, quantises it with NNCF's post-training quantisation when asked, stores the model card in the
IR's ``rt_info`` and writes both files into a temporary folder beside the destination. There it is
compiled and run on the calibration images (or, for fp32, on random inputs) against the fp32 ONNX model
under ONNX Runtime; only then are the ``.bin`` and the ``.xml`` renamed into place (the ``.xml`` last, so
a reader that finds the ``.xml`` finds its weights).

int8 (see :data:`INT8_SETTINGS`): weights per output channel, symmetric; activations per tensor. NNCF
places quantisers on the inputs of every Convolution and ConvTranspose (OpenVINO runs both in int8 on
VNNI / AMX) and on the Add of the residual blocks; InstanceNorm (MVN in OpenVINO) has no int8 kernel and
stays in floating point between int8 convolutions. The standard remedies, measured on a resnet_9blocks
trained 300 steps on horse2zebra (PSNR / SSIM against fp32 on 16 test photos, calibrated on 32 training
photos; ``python tools/bench_translate.py --model RUN --direction a2b --remedies``):

=====================================================  ==================  ======  ==========
setting                                                PSNR (min), dB      SSIM    NNCF time
=====================================================  ==================  ======  ==========
NNCF defaults (performance preset, fast bias corr.)    31.9 (31.4)         0.861   26 s
mixed preset (asymmetric activations)                  32.3 (32.0)         0.870   22 s
mixed + first and last convolution in float            33.0 (32.8)         0.882   20 s
... + full bias correction                             33.0 (32.8)         0.882   22 s
performance + first/last + full bias correction        32.6 (32.4)         0.872   21 s
mixed + first/last + full bias correction, 64 images   33.1 (32.8)         0.883   45 s
=====================================================  ==================  ======  ==========

So the defaults are: mixed preset, first and last convolution in float, fast bias correction (the full
one changed nothing), up to 64 calibration images (as for ONNX Runtime int8).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from i2i.card import ModelCard
from i2i.export.metadata import write_openvino_card
from i2i.export.quantize import MAX_CALIBRATION_IMAGES, calibration_side, load_calibration_images
from i2i.export.verify import FP32_ATOL, ErrorStats, VerifyError, error_stats
from i2i.extras import require

__all__ = ["INT8_SETTINGS", "Int8Settings", "export_openvino_ir", "quantize_openvino_int8"]

OPENVINO_EXPORT_PRECISIONS: tuple[str, ...] = ("fp32", "int8")


@dataclass(frozen=True)
class Int8Settings:
    """NNCF post-training quantisation settings.

    Attributes:
        preset: ``"performance"`` (symmetric activations) or ``"mixed"`` (asymmetric activations, for
            the signed, off-centre activations of generators).
        keep_first_last: Leave the first and the last convolution in floating point (they see raw
            pixels and write the image; both are cheap: 3 input or output channels).
        fast_bias_correction: NNCF's fast bias correction (``False``: the full, slower algorithm).
        max_images: Calibration images used.
    """

    preset: str = "mixed"
    keep_first_last: bool = True
    fast_bias_correction: bool = True
    max_images: int = MAX_CALIBRATION_IMAGES


INT8_SETTINGS = Int8Settings()


def quantize_openvino_int8(
    model: Any, images: list[np.ndarray], card: ModelCard, settings: Int8Settings = INT8_SETTINGS
) -> Any:
    """An int8 copy of the ``openvino.Model`` ``model``, calibrated on ``images`` (``(1, C, S, S)`` each)."""
    nncf = require("nncf", "openvino", "int8 export to OpenVINO")
    ignored = (
        nncf.IgnoredScope(names=_first_and_last_convolutions(model)) if settings.keep_first_last else None
    )
    dataset = nncf.Dataset(images[: settings.max_images], lambda x: {card.input_name: x})
    with _quiet("nncf"):  # NNCF logs each step and draws progress bars on stdout
        return nncf.quantize(
            model,
            dataset,
            preset=nncf.QuantizationPreset(settings.preset),
            subset_size=min(len(images), settings.max_images),
            fast_bias_correction=settings.fast_bias_correction,
            ignored_scope=ignored,
        )


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Silence a library's logger below ERROR and its stdout while the block runs, then restore both."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)


def export_openvino_ir(
    proto: onnx.ModelProto,
    card: ModelCard,
    path: Path,
    *,
    calibration_images: Path | None = None,
    calibration_size: int | None = None,
    settings: Int8Settings = INT8_SETTINGS,
) -> ErrorStats:
    """Write the fp32 ONNX ``proto`` as OpenVINO IR ``path`` (``.xml``; ``.bin`` beside), int8 when
    ``card.precision`` is ``"int8"``, and return its error against ``proto`` under ONNX Runtime.

    Args:
        proto: The fp32 graph with the card's input and output names.
        card: Its metadata; ``card.precision`` (``fp32`` or ``int8``) says what to write.
        path: Destination ``.xml``.
        calibration_images: int8: a folder of images like those the model will translate.
        calibration_size: int8: square calibration side (default: the training crop, else 256).
        settings: int8: NNCF settings.

    Raises:
        ValueError: A bad destination or precision, or calibration images that cannot be used.
        VerifyError: The fp32 IR does not reproduce the ONNX model within ``1e-4``.
    """
    ov = require("openvino", "openvino", "export to OpenVINO")
    path = Path(path)
    if path.suffix.lower() != ".xml":
        raise ValueError(f"{path}: an OpenVINO IR is an .xml file (its weights go to the .bin beside it)")
    if card.precision not in OPENVINO_EXPORT_PRECISIONS:
        raise ValueError(
            f"{path}: OpenVINO export writes {', '.join(OPENVINO_EXPORT_PRECISIONS)}; "
            f"for bf16 export fp32 and translate with --backend openvino --precision bf16"
        )
    if card.precision == "int8":
        if calibration_images is None:
            raise ValueError(f"{path}: int8 export needs calibration images: pass --calibrate DIR")
        images = load_calibration_images(
            calibration_images,
            channels=card.in_channels,
            side=calibration_side(card, calibration_size),
            value_range=card.value_range,
            max_images=settings.max_images,
        )
    else:
        low, high = card.value_range
        rng = np.random.default_rng(0)
        side = calibration_side(card, 64)
        images = [
            rng.uniform(low, high, (1, card.in_channels, side, side)).astype(np.float32) for _ in range(2)
        ]
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{path.stem}.", dir=path.parent) as tmp:
        onnx_path = Path(tmp) / "fp32.onnx"
        onnx.save_model(proto, str(onnx_path))
        model = ov.Core().read_model(str(onnx_path))
        if card.precision == "int8":
            model = quantize_openvino_int8(model, images, card, settings)
        write_openvino_card(model, card)
        staged = Path(tmp) / path.name
        ov.save_model(model, str(staged), compress_to_fp16=False)
        stats = _compare(onnx_path, staged, images, card)
        if card.precision == "fp32" and stats.max_abs > FP32_ATOL:
            raise VerifyError(f"{path}: the OpenVINO IR differs from the ONNX model by {stats.max_abs:.3g}")
        for staged_file in (staged.with_suffix(".bin"), staged):  # the .xml last: it points at the .bin
            _fsync(staged_file)
            os.replace(staged_file, path.with_suffix(staged_file.suffix))
    return stats


def _compare(onnx_path: Path, ir_path: Path, images: list[np.ndarray], card: ModelCard) -> ErrorStats:
    """The IR's outputs (OpenVINO, f32 inference precision) against the ONNX model's (ONNX Runtime)."""
    import onnxruntime as ort

    ov = require("openvino", "openvino", "export to OpenVINO")
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    compiled = ov.Core().compile_model(str(ir_path), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    expected = np.concatenate([session.run([card.output_name], {card.input_name: x})[0] for x in images])
    actual = np.concatenate([compiled({card.input_name: x})[0] for x in images])
    return error_stats(actual, expected, card.value_range)


def _first_and_last_convolutions(model: Any) -> list[str]:
    """Names of the first and the last Convolution / ConvolutionBackpropData in topological order."""
    convs = [op.get_friendly_name() for op in model.get_ordered_ops() if op.get_type_name() == "Convolution"]
    return [convs[0], convs[-1]] if len(convs) > 1 else convs


def _fsync(path: Path) -> None:
    with open(path, "rb+") as file:
        os.fsync(file.fileno())
