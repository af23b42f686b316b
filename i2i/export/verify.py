"""Parity of an exported ONNX model with its PyTorch generator, run with ONNX Runtime on the CPU.

Both run on the same random inputs (uniform in the model's value range) at two sizes, a single image at
the first and a batch of two at the second, so a graph that silently fixed its batch, height or width at
export time fails here.

Bounds, as max abs difference on outputs in [-1, 1]:

- ``fp32``: ``1e-4`` (float32 rounding of different convolution algorithms is about ``1e-6``);
  exceeding it raises :class:`VerifyError`.
- ``fp16``: ``FP16_BOUND`` = ``2e-2`` expected (float16 has an 11-bit mantissa: ``~1e-3`` relative per op,
  accumulating over ~20 layers); reported, not raised.
- ``int8``: ``INT8_BOUND`` = ``1.0``, which only catches a broken quantisation (outputs span 2.0):
  single pixels of an int8 generator are often off by 0.2-0.7 (measured on random inputs, which are
  far from the calibration data). Reported, not raised: judge int8 by the PSNR on the calibration
  images that :func:`i2i.export.quantize.quantize_int8` returns (27-37 dB measured).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from i2i.card import ModelCard
from i2i.export.metadata import DOMAIN_INPUT_NAME, read_onnx_card

FP32_ATOL = 1e-4
FP16_BOUND = 2e-2
INT8_BOUND = 1.0


class VerifyError(ValueError):
    """The ONNX model does not reproduce the PyTorch generator; the message names the file and the error."""


@dataclass(frozen=True)
class ErrorStats:
    """Differences between an output and a reference output of the same images.

    Attributes:
        mean_abs: Mean absolute difference.
        max_abs: Largest absolute difference.
        psnr: Peak signal-to-noise ratio in dB over the value range (``inf`` when identical).
        count: Number of images compared.
    """

    mean_abs: float
    max_abs: float
    psnr: float
    count: int

    def __str__(self) -> str:
        return f"max abs {self.max_abs:.3g}, mean abs {self.mean_abs:.3g}, PSNR {self.psnr:.1f} dB ({self.count} images)"


@dataclass(frozen=True)
class VerifyReport:
    """Result of :func:`verify_onnx`.

    Attributes:
        precision: Precision of the ONNX model.
        shapes: Input shapes compared, ``(B, C, H, W)`` each.
        error: ONNX Runtime output vs PyTorch output over all of them.
        bound: The max abs difference expected for this precision.
        within_bound: Whether ``error.max_abs <= bound``.
    """

    precision: str
    shapes: tuple[tuple[int, int, int, int], ...]
    error: ErrorStats
    bound: float
    within_bound: bool

    def __str__(self) -> str:
        sizes = ", ".join(f"{b}x{c}x{h}x{w}" for b, c, h, w in self.shapes)
        verdict = "ok" if self.within_bound else f"ABOVE the expected {self.bound:g}"
        return f"ONNX Runtime vs PyTorch ({self.precision}, inputs {sizes}): {self.error} - {verdict}"


def error_stats(
    output: np.ndarray, reference: np.ndarray, value_range: tuple[float, float] = (-1.0, 1.0)
) -> ErrorStats:
    """Mean/max abs difference and PSNR of ``output`` against ``reference`` (same shape, ``(B, ...)``).

    Example:
        >>> s = error_stats(np.array([[0.0, 0.5]]), np.array([[0.0, 0.0]]))
        >>> s.max_abs, s.mean_abs, round(s.psnr, 2)
        (0.5, 0.25, 15.05)
    """
    if output.shape != reference.shape:
        raise ValueError(f"output shape {output.shape} differs from the reference shape {reference.shape}")
    diff = np.abs(output.astype(np.float64) - reference.astype(np.float64))
    mse = float(np.mean(diff**2))
    peak = float(value_range[1] - value_range[0])
    psnr = math.inf if mse == 0 else 10.0 * math.log10(peak**2 / mse)
    return ErrorStats(float(diff.mean()), float(diff.max()), psnr, int(output.shape[0]))


def default_sizes(size_multiple: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """A square and a 2:1 size, multiples of ``size_multiple`` and at least 64 px (256 and 512x256 for unet_256).

    Example:
        >>> default_sizes(4), default_sizes(256)
        (((64, 64), (128, 64)), ((256, 256), (512, 256)))
    """
    side = size_multiple * max(1, -(-64 // size_multiple))
    return (side, side), (2 * side, side)


def verify_onnx(
    path: Path | str,
    generator: nn.Module,
    sizes: Sequence[tuple[int, int]] | None = None,
    atol: float = FP32_ATOL,
    *,
    batch_sizes: Sequence[int] = (1, 2),
    seed: int = 0,
) -> VerifyReport:
    """Run the ONNX file at ``path`` with ONNX Runtime and ``generator`` with PyTorch on the same inputs.

    Args:
        path: An ONNX file written by :func:`i2i.export.onnx.export_onnx` (its metadata gives the
            channels, value range, size multiple and precision).
        generator: The PyTorch generator it was exported from; run in eval mode on a CPU copy in float32.
        sizes: ``(H, W)`` pairs, multiples of the model's size multiple (default :func:`default_sizes`).
        atol: fp32 only: the largest max abs difference accepted.
        batch_sizes: Batch size of each entry of ``sizes``.
        seed: Seed of the random inputs.

    Raises:
        VerifyError: fp32 model above ``atol``, any non-finite output, or a wrong output shape.
    """
    import onnxruntime as ort

    path = Path(path)
    card: ModelCard = read_onnx_card(path)
    sizes = tuple(sizes) if sizes is not None else default_sizes(card.size_multiple)
    for height, width in sizes:
        if height % card.size_multiple or width % card.size_multiple:
            raise ValueError(
                f"{path}: verify size {height}x{width} is not a multiple of {card.size_multiple}"
            )
    model = copy.deepcopy(generator).cpu().float().eval()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    low, high = card.value_range
    outputs, references, shapes = [], [], []
    for (height, width), batch in zip(sizes, batch_sizes, strict=False):
        shape = (batch, card.in_channels, height, width)
        x = rng.uniform(low, high, size=shape).astype(np.float32)
        feed: dict[str, np.ndarray] = {card.input_name: x}
        extra: tuple[torch.Tensor, ...] = ()
        if card.domains:  # every domain in turn over the batch
            domain = np.arange(batch, dtype=np.int64) % len(card.domains)
            feed[DOMAIN_INPUT_NAME] = domain
            extra = (torch.from_numpy(domain),)
        (y,) = session.run([card.output_name], feed)
        with torch.no_grad():
            expected = model(torch.from_numpy(x), *extra).numpy()
        if y.shape != expected.shape:
            raise VerifyError(
                f"{path}: ONNX output shape {y.shape} for input {shape}, PyTorch gives {expected.shape}"
            )
        if not np.isfinite(y).all():
            raise VerifyError(f"{path}: ONNX Runtime output for input {shape} is not finite")
        outputs.append(y.reshape(batch, -1))
        references.append(expected.reshape(batch, -1))
        shapes.append(shape)
    # Images of different sizes: compare them as one flat batch of rows of equal length per size.
    error = _pooled(outputs, references, card.value_range)
    bound = {"fp32": atol, "fp16": FP16_BOUND}.get(card.precision, INT8_BOUND)
    report = VerifyReport(card.precision, tuple(shapes), error, bound, error.max_abs <= bound)
    if card.precision == "fp32" and not report.within_bound:
        raise VerifyError(
            f"{path}: ONNX Runtime differs from PyTorch by {error.max_abs:.3g} (max abs) > {atol:g}"
        )
    return report


def _pooled(
    outputs: Sequence[np.ndarray], references: Sequence[np.ndarray], value_range: tuple[float, float]
) -> ErrorStats:
    flat_out = np.concatenate([o.reshape(-1) for o in outputs])[None]
    flat_ref = np.concatenate([r.reshape(-1) for r in references])[None]
    stats = error_stats(flat_out, flat_ref, value_range)
    return ErrorStats(stats.mean_abs, stats.max_abs, stats.psnr, sum(o.shape[0] for o in outputs))
