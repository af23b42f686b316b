"""Export a generator to ONNX: one input ``image``, one output ``translated``, batch/height/width dynamic.

The graph is traced with the ``torch.export`` based exporter (``torch.onnx.export(..., dynamo=True)``),
constant-folded and optimised by it, checked with ``onnx.checker`` and written atomically with the
preprocessing contract of :class:`~i2i.card.ModelCard` in its ``metadata_props``.

Height and width are exported as multiples of the generator's ``size_multiple`` (the graph's input
shape reads ``(batch, C, 256*height, 256*width)`` for ``unet_256``), because the skip connections and
residual additions are only defined for such sizes; callers pad to a multiple and crop back.

**Eval mode only.** The generator is exported in eval mode: batch norm uses its running statistics and
dropout is off. The reference pix2pix code tests in train mode unless ``--eval`` is given (dropout on,
batch statistics of the test batch); we do not export that behaviour because it makes an image's result
depend on the other images of its batch and on random numbers, which rules out tiling and batching.
Batch norm folds into the convolutions and dropout disappears, so the graph holds no training-only op.

Precisions:

- ``fp32``: verified against PyTorch to ``1e-4`` (max abs) by default.
- ``fp16``: weights and compute in float16, input and output stay float32 (``keep_io_types``); meant for
  GPUs. ONNX Runtime's CPU provider runs it too (it has float16 kernels for every op these generators
  use, or falls back through casts), but slower than fp32 there.
- ``int8``: static QDQ quantisation calibrated on the user's images; see :mod:`i2i.export.quantize`.
"""

from __future__ import annotations

import copy
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx
import torch
from torch import nn

from i2i.card import ModelCard, describe_generator
from i2i.export.metadata import DOMAIN_INPUT_NAME, write_onnx_card
from i2i.export.quantize import CALIBRATE_METHODS, quantize_int8
from i2i.export.verify import ErrorStats, VerifyReport, verify_onnx
from i2i.files import atomic_path
from i2i.weights import load_generator

PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "int8")
FORMATS: tuple[str, ...] = ("onnx", "openvino")
MIN_OPSET = 17
DEFAULT_OPSET = 18
INPUT_NAME = "image"
OUTPUT_NAME = "translated"


class ExportError(ValueError):
    """An export that cannot be done as asked; the message names the file or the option."""


@dataclass(frozen=True)
class ExportReport:
    """What :func:`export_onnx_with_report` did.

    Attributes:
        path: The written ONNX file.
        card: The metadata stored in it.
        verify: PyTorch vs ONNX Runtime comparison, ``None`` when verification was skipped.
        calibration: int8 only: error of the int8 model against the fp32 model on the calibration images.
        seconds: Wall time of the whole export (tracing, conversion, checks, verification).
    """

    path: Path
    card: ModelCard
    verify: VerifyReport | None
    calibration: ErrorStats | None
    seconds: float


def export_onnx(
    generator: nn.Module,
    card: ModelCard,
    path: Path,
    *,
    opset: int = DEFAULT_OPSET,
    precision: str = "fp32",
    calibration_images: Path | None = None,
    calibration_size: int | None = None,
    calibrate_method: str = "percentile",
    verify: bool = True,
) -> ModelCard:
    """Export ``generator`` (in eval mode) to the ONNX file ``path`` and return the metadata written.

    Args:
        generator: The network; it is copied to the CPU in eval mode, the original is left untouched.
        card: Its preprocessing contract (``precision`` is replaced by ``precision``).
        path: Destination ``.onnx`` file, written atomically.
        opset: ONNX opset (at least 17).
        precision: ``"fp32"``, ``"fp16"`` or ``"int8"``.
        calibration_images: int8 only (required): a folder of images like those the model will see.
        calibration_size: int8 only: square size the calibration images are resized and cropped to
            (default: the training crop size, else 256), rounded up to ``card.size_multiple``.
        calibrate_method: int8 only: ``"percentile"`` or ``"minmax"`` (see :mod:`i2i.export.quantize`).
        verify: Compare ONNX Runtime with PyTorch at two sizes after writing (raises for fp32 when the
            max abs difference exceeds ``1e-4``).

    Raises:
        ExportError: for a bad option (opset, precision, missing calibration folder).
        VerifyError: when the fp32 graph does not reproduce PyTorch.
    """
    return export_onnx_with_report(
        generator,
        card,
        path,
        opset=opset,
        precision=precision,
        calibration_images=calibration_images,
        calibration_size=calibration_size,
        calibrate_method=calibrate_method,
        verify=verify,
    ).card


def export_onnx_with_report(
    generator: nn.Module,
    card: ModelCard,
    path: Path,
    *,
    opset: int = DEFAULT_OPSET,
    precision: str = "fp32",
    calibration_images: Path | None = None,
    calibration_size: int | None = None,
    calibrate_method: str = "percentile",
    verify: bool = True,
    output_format: str = "onnx",
) -> ExportReport:
    """:func:`export_onnx`, returning the verification and calibration figures as well.

    With ``output_format="openvino"`` it writes an OpenVINO IR ``.xml`` + ``.bin`` instead, fp32 or int8
    quantised by NNCF (see :mod:`i2i.export.openvino_ir`); ``calibrate_method`` does not apply and the
    IR is checked against the ONNX graph rather than against PyTorch.
    """
    start = time.perf_counter()
    path = Path(path)
    if output_format not in FORMATS:
        raise ExportError(f"{path}: unknown format {output_format!r} (known: {', '.join(FORMATS)})")
    if output_format == "openvino" and precision == "fp16":
        raise ExportError(f"{path}: OpenVINO export writes fp32 or int8 (bf16 is chosen when translating)")
    _check_options(path, opset, precision, calibration_images, calibrate_method)
    card.require_image_input(path, "export")
    card = card.replace(precision=precision, key_prefix="", input_name=INPUT_NAME, output_name=OUTPUT_NAME)
    if card.domains and precision == "int8":
        raise ExportError(f"{path}: int8 export of a multi-domain model is not supported; use fp32 or fp16")
    model = copy.deepcopy(generator).cpu().float().eval()

    proto = trace_to_onnx(model, card, opset=opset)
    if output_format == "openvino":
        from i2i.export.openvino_ir import export_openvino_ir

        stats = export_openvino_ir(
            proto, card, path, calibration_images=calibration_images, calibration_size=calibration_size
        )
        calibrated = stats if precision == "int8" else None
        return ExportReport(path, card, None, calibrated, time.perf_counter() - start)
    calibration: ErrorStats | None = None
    if precision == "fp16":
        proto = convert_to_fp16(proto)
    elif precision == "int8":
        assert calibration_images is not None  # checked above
        proto, calibration = quantize_int8(
            proto,
            calibration_images,
            card=card,
            size=calibration_size,
            method=calibrate_method,
        )
    write_onnx_card(proto, card)
    proto.producer_name, proto.producer_version = "i2i", card.version
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as error:  # a bug in the exporter, not a user error
        raise ExportError(f"{path}: the exported graph fails the ONNX checker: {error}") from error
    with atomic_path(path) as tmp:  # verified before it replaces anything under the final name
        onnx.save_model(proto, str(tmp), format="protobuf")
        report = verify_onnx(tmp, model) if verify else None
    return ExportReport(path, card, report, calibration, time.perf_counter() - start)


def trace_to_onnx(model: nn.Module, card: ModelCard, *, opset: int = DEFAULT_OPSET) -> onnx.ModelProto:
    """The fp32 ``ModelProto`` of ``model`` (eval mode, CPU) with dynamic batch, height and width.

    Height and width are declared as ``size_multiple * n``; the example input is twice the multiple in
    each dimension and a batch of 2, because the exporter specialises dimensions of size 1.
    """
    multiple = max(int(card.size_multiple), 1)
    example = torch.zeros(2, card.in_channels, 2 * _example_side(multiple), 2 * _example_side(multiple))
    inputs: tuple[torch.Tensor, ...] = (example,)
    names = [INPUT_NAME]
    batch = torch.export.Dim("batch", min=1)
    height = torch.export.Dim("height", min=1)
    width = torch.export.Dim("width", min=1)
    dynamic = (
        {0: batch, 2: multiple * height, 3: multiple * width}
        if multiple > 1
        else {0: batch, 2: height, 3: width}
    )
    shapes: tuple[dict[int, Any], ...] = (dynamic,)
    if card.domains:  # StarGAN: the target domain as a second input, (B,) int64
        inputs, names, shapes = (
            (example, torch.arange(2) % len(card.domains)),
            [*names, DOMAIN_INPUT_NAME],
            (dynamic, {0: batch}),
        )
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter warns about its own internals, not about our model
        program: Any = torch.onnx.export(
            model,
            inputs,
            dynamo=True,
            input_names=names,
            output_names=[OUTPUT_NAME],
            opset_version=opset,
            dynamic_shapes=shapes,
            external_data=False,
            optimize=True,
            verbose=False,
        )
    proto: onnx.ModelProto = program.model_proto
    return proto


def convert_to_fp16(proto: onnx.ModelProto) -> onnx.ModelProto:
    """float16 weights and compute, float32 ``image`` in and ``translated`` out (casts at both ends)."""
    import onnx_ir
    from onnxruntime.transformers.float16 import convert_float_to_float16

    half = convert_float_to_float16(proto, keep_io_types=True)
    graph = onnx_ir.from_proto(half)
    graph.graph.sort()  # the converter appends the input casts at the end; the checker wants topological order
    sorted_proto: onnx.ModelProto = onnx_ir.to_proto(graph)
    return sorted_proto


def load_source(
    source: Path,
    *,
    direction: str | None = None,
    arch: str | None = None,
    in_channels: int = 3,
    out_channels: int = 3,
) -> tuple[nn.Module, ModelCard]:
    """The generator behind ``source`` and its description.

    Args:
        source: A run directory, a checkpoint directory, an i2i ``.safetensors`` file, or (with ``arch``)
            a reference pytorch-CycleGAN-and-pix2pix ``latest_net_G.pth``.
        direction: ``"a2b"`` / ``"b2a"`` for i2i files with two generators; stored as is for a reference file.
        arch: Required for a reference ``.pth`` file: its ``--netG`` (``resnet_9blocks``, ``unet_256`` ...).
        in_channels: Reference files: the ``--input_nc`` it was trained with.
        out_channels: Reference files: the ``--output_nc``.

    Raises:
        ExportError: for a missing file, an ``.onnx`` file, or a ``.pth`` file without ``arch``.
        WeightsError: for an i2i source that cannot be read.
    """
    source = Path(source)
    if not source.exists():
        raise ExportError(f"{source}: no such file or directory")
    if source.suffix == ".onnx":
        raise ExportError(
            f"{source}: already an ONNX model; export reads a run directory, a checkpoint, .safetensors "
            "weights or a reference .pth (`i2i info` shows what an .onnx file holds)"
        )
    if source.suffix in (".pth", ".pt"):
        if arch is None:
            raise ExportError(
                f"{source}: a reference .pth file needs --arch (resnet_9blocks, resnet_6blocks, unet_256, unet_128)"
            )
        return load_reference_source(
            source, arch, direction=direction or "a2b", in_channels=in_channels, out_channels=out_channels
        )
    return load_generator(source, direction=direction)


def load_reference_source(
    path: Path, arch: str, *, direction: str = "a2b", in_channels: int = 3, out_channels: int = 3
) -> tuple[nn.Module, ModelCard]:
    """A reference ``latest_net_G.pth`` as a generator in eval mode plus a model card with method ``"reference"``.

    Base channels and norm are read from the checkpoint (by :func:`load_reference_generator`); the card
    records them so that :meth:`ModelCard.build` rebuilds the same network.
    """
    from i2i.export.reference import load_reference_generator

    try:
        model = load_reference_generator(path, arch, in_channels=in_channels, out_channels=out_channels)
    except KeyError as error:
        raise ExportError(
            f"{path}: unknown --arch {arch!r} ({error.args[0] if error.args else ''})"
        ) from None
    first_conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    norm = "batch" if any(isinstance(m, nn.BatchNorm2d) for m in model.modules()) else "instance"
    card = describe_generator(
        model,
        arch=arch,
        kwargs={
            "in_channels": in_channels,
            "out_channels": out_channels,
            "base_channels": int(first_conv.out_channels),
            "norm": norm,
            "dropout": 0.0,
        },
        direction=direction,
        method="reference",
        extra={"source": path.name},
    )
    return model, card


def _example_side(multiple: int) -> int:
    """The smallest multiple of ``multiple`` that is at least 16 (resnets need a bottleneck >= 2 px to reflect)."""
    return multiple * max(1, -(-16 // multiple))


def _check_options(
    path: Path, opset: int, precision: str, calibration_images: Path | None, calibrate_method: str
) -> None:
    if opset < MIN_OPSET:
        raise ExportError(f"{path}: opset {opset} is too old; use {MIN_OPSET} or newer")
    if precision not in PRECISIONS:
        raise ExportError(f"{path}: unknown precision {precision!r} (known: {', '.join(PRECISIONS)})")
    if precision != "int8":
        return
    if calibration_images is None:
        raise ExportError(
            f"{path}: int8 export needs calibration images: pass --calibrate DIR (a folder of images)"
        )
    if not Path(calibration_images).is_dir():
        raise ExportError(f"{calibration_images}: calibration folder does not exist")
    if calibrate_method not in CALIBRATE_METHODS:
        raise ExportError(
            f"{path}: unknown calibration method {calibrate_method!r} (known: {', '.join(CALIBRATE_METHODS)})"
        )
