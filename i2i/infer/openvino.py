"""The OpenVINO backend: an exported model on Intel's CPU runtime, in fp32, bf16 or static int8.

OpenVINO reads the ``.onnx`` written by ``i2i export`` (and the OpenVINO IR ``.xml`` + ``.bin`` written
by ``i2i export --format openvino``), runs bf16 on CPUs with AVX512-BF16 or AMX, and runs int8
convolutions, transposed convolutions included, from an NNCF-quantised IR.

Precision (:func:`resolve_precision`) is chosen from what the CPU has, read from ``/proc/cpuinfo``
(:func:`cpu_features`), never assumed:

- ``fp32``: OpenVINO's inference precision forced to f32 (OpenVINO's own default on a bf16-capable CPU
  is bf16), so it matches ONNX Runtime fp32 to ~1e-6.
- ``bf16``: matmuls and convolutions in bfloat16 (8-bit mantissa) with f32 accumulation; refused on a
  CPU without native bf16, where OpenVINO would silently run f32.
- ``int8``: an int8 IR from ``i2i export --format openvino --precision int8 --calibrate DIR``; what
  stays in floating point runs in bf16 where the CPU has it.
- ``auto``: int8 for an int8 IR; else bf16 where the CPU has native bf16, else fp32. Measured by
  ``tools/bench_translate.py`` on a 2-core AMX Xeon (trained resnet_9blocks): bf16 ran 5.8x (256 px) and
  8.0x (1024x768) the PyTorch fp32 loop at 55 dB against fp32; int8 was faster at 256 px (8.8x) but
  slower at 1024x768 (6.9x) and only 33 dB, so ``auto`` takes bf16 at every size.

Modes: ``latency`` (one inference request using every core: single images) and ``throughput``
(OpenVINO picks the number of streams; a batch is split into single images run as parallel requests:
folders).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from i2i.card import ModelCard
from i2i.export.metadata import DOMAIN_INPUT_NAME, read_onnx_card, read_openvino_card
from i2i.extras import require
from i2i.infer.graph_statistics import SUMS_OUTPUT, GraphNorms, statistics_graph

__all__ = [
    "OPENVINO_MODES",
    "OPENVINO_PRECISIONS",
    "CpuFeatures",
    "OpenVinoBackend",
    "cpu_features",
    "import_openvino",
    "resolve_precision",
]

OPENVINO_PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16", "int8")
OPENVINO_MODES: tuple[str, ...] = ("latency", "throughput")
BF16_FLAGS: tuple[str, ...] = ("amx_bf16", "avx512_bf16")
"""``/proc/cpuinfo`` flags of native bf16 arithmetic (Sapphire Rapids and later; Cooper Lake; Zen 4+)."""
INT8_FLAGS: tuple[str, ...] = ("amx_int8", "avx512_vnni", "avx_vnni")
"""Flags of int8 dot-product instructions (VNNI / AMX); without them int8 gains little."""
_REPORTED_FLAGS = ("avx2", "avx512f", *BF16_FLAGS, *INT8_FLAGS, "avx512_fp16", "amx_fp16")


def import_openvino() -> Any:
    """The ``openvino`` module, or a one-line :class:`~i2i.extras.MissingExtraError`."""
    return require("openvino", "openvino", "the OpenVINO backend")


@dataclass(frozen=True)
class CpuFeatures:
    """What this CPU offers for inference.

    Attributes:
        model: The CPU's model name ("" when unknown).
        flags: The inference-relevant ``/proc/cpuinfo`` flags found (empty when the file is unreadable).
        threads: Cores this process may run on (its CPU affinity).
    """

    model: str
    flags: frozenset[str]
    threads: int

    @property
    def native_bf16(self) -> bool:
        """AVX512-BF16 or AMX-BF16 present."""
        return any(flag in self.flags for flag in BF16_FLAGS)

    @property
    def native_int8(self) -> bool:
        """VNNI or AMX-INT8 present."""
        return any(flag in self.flags for flag in INT8_FLAGS)

    def describe(self) -> str:
        found = " ".join(f for f in _REPORTED_FLAGS if f in self.flags) or "none of interest"
        return f"{self.model or 'unknown CPU'}, {self.threads} threads; flags: {found}"


def cpu_features(cpuinfo: str | os.PathLike[str] = "/proc/cpuinfo") -> CpuFeatures:
    """Read the first processor's model name and flags from ``cpuinfo`` (Linux); empty when unreadable.

    Example:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        ...     _ = f.write("model name\\t: Xeon\\nflags\\t\\t: fpu avx2 amx_bf16 avx512_vnni\\n")
        >>> features = cpu_features(f.name)
        >>> features.native_bf16, features.native_int8, sorted(features.flags)
        (True, True, ['amx_bf16', 'avx2', 'avx512_vnni'])
    """
    model, flags = "", frozenset[str]()
    try:
        text = Path(cpuinfo).read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not model:
            model = value.strip()
        elif key == "flags" and not flags:
            flags = frozenset(value.split()) & set(_REPORTED_FLAGS)
    affinity = getattr(os, "sched_getaffinity", None)
    threads = len(affinity(0)) if affinity is not None else os.cpu_count() or 1
    return CpuFeatures(model, flags, threads)


def resolve_precision(precision: str, model_precision: str, features: CpuFeatures, source: str = "") -> str:
    """The precision to run: ``fp32``, ``bf16`` or ``int8``.

    Args:
        precision: What was asked: ``auto``, ``fp32``, ``bf16`` or ``int8``.
        model_precision: The model file's precision (its card): ``fp32`` or ``int8``.
        features: This CPU.
        source: The model file, for messages.

    Raises:
        ValueError: A precision this model or this CPU cannot run (one line, naming ``source``).

    Example:
        >>> amx = CpuFeatures("Xeon", frozenset({"amx_bf16"}), 2)
        >>> resolve_precision("auto", "fp32", amx), resolve_precision("auto", "int8", amx)
        ('bf16', 'int8')
        >>> resolve_precision("auto", "fp32", CpuFeatures("EPYC", frozenset({"avx2"}), 2))
        'fp32'
    """
    if precision not in OPENVINO_PRECISIONS:
        raise ValueError(
            f"{source}: unknown precision {precision!r} for OpenVINO (known: {', '.join(OPENVINO_PRECISIONS)})"
        )
    if model_precision == "int8":
        if precision not in ("auto", "int8"):
            raise ValueError(f"{source}: is an int8 model; run it with --precision int8 or auto")
        return "int8"
    if model_precision != "fp32":
        raise ValueError(f"{source}: OpenVINO runs fp32 or int8 model files, not {model_precision}")
    if precision == "int8":
        raise ValueError(
            f"{source}: --precision int8 needs an int8 model: "
            "i2i export SOURCE --format openvino --precision int8 --calibrate DIR --out MODEL.xml"
        )
    if precision == "bf16" and not features.native_bf16:
        raise ValueError(
            f"{source}: --precision bf16 needs a CPU with AVX512-BF16 or AMX ({features.describe()}); "
            "use fp32 or auto"
        )
    if precision == "auto":
        return "bf16" if features.native_bf16 else "fp32"
    return precision


def read_openvino_model(path: Path, core: Any | None = None) -> tuple[Any, ModelCard]:
    """``(openvino.Model, its card)`` for an ``.onnx`` file from ``i2i export`` or an IR ``.xml``.

    Raises:
        ValueError: Not an ``.onnx`` or ``.xml`` file, or no readable model (the message names it).
    """
    ov = import_openvino()
    suffix = path.suffix.lower()
    if suffix not in (".onnx", ".xml"):
        raise ValueError(f"{path}: OpenVINO reads .onnx files and OpenVINO IR .xml files")
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    card = read_onnx_card(path) if suffix == ".onnx" else None
    try:
        model = (core or ov.Core()).read_model(str(path))
    except RuntimeError as error:
        raise ValueError(f"{path}: OpenVINO cannot read it ({str(error).splitlines()[0]})") from None
    return model, card if card is not None else read_openvino_card(model, path)


class OpenVinoBackend:
    """An exported model on OpenVINO's CPU plugin; its :class:`ModelCard` comes from the file.

    Args:
        path: ``.onnx`` file written by ``i2i export``, or an IR ``.xml`` written by
            ``i2i export --format openvino``.
        precision: ``auto``, ``fp32``, ``bf16`` or ``int8`` (see :func:`resolve_precision`).
        mode: ``latency`` (one request, all threads) or ``throughput`` (parallel requests, for folders).
        threads: CPU threads in all (default: the cores this process may use).
        domain: Multi-domain (StarGAN) models: the target domain, one of ``card.domains``.
        features: The CPU (default :func:`cpu_features`); for tests.

    Attributes:
        precision: What runs: ``fp32``, ``bf16`` or ``int8``.
        requests: Inference requests run in parallel (1 in latency mode; OpenVINO's optimal number in
            throughput mode); :class:`~i2i.infer.Translator` sends at least this many images per call.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        precision: str = "auto",
        mode: str = "latency",
        threads: int | None = None,
        domain: str | None = None,
        features: CpuFeatures | None = None,
    ) -> None:
        ov = import_openvino()
        self.path = Path(path)
        if mode not in OPENVINO_MODES:
            raise ValueError(f"mode must be one of {', '.join(OPENVINO_MODES)}, got {mode!r}")
        core = ov.Core()
        model, card = read_openvino_model(self.path, core)
        card.require_image_input(self.path, "translation")
        self.domain = card.domain_index(domain)
        self.features = features or cpu_features()
        self.precision = resolve_precision(precision, card.precision, self.features, str(self.path))
        self.card = card.replace(precision=self.precision)
        self.threads = threads or self.features.threads
        # float parts of an int8 model run in bf16 where the CPU has it natively
        floats = (
            "bf16"
            if self.precision == "bf16" or (self.precision == "int8" and self.features.native_bf16)
            else "f32"
        )
        config = {
            "INFERENCE_PRECISION_HINT": floats,
            "PERFORMANCE_HINT": mode.upper(),
            "INFERENCE_NUM_THREADS": self.threads,
        }
        self.core, self.config = core, config
        self.compiled = core.compile_model(model, "CPU", config)
        self.mode = mode
        self.requests = max(1, int(self.compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
        self._queue = ov.AsyncInferQueue(self.compiled, self.requests)
        self._outputs: dict[int, np.ndarray] = {}
        self._queue.set_callback(self._collect)
        self.name = (
            f"openvino CPU ({self.precision}, {mode}, {self.requests} requests, {self.threads} threads)"
        )

    def run(self, batch: np.ndarray) -> np.ndarray:
        """``(B, C_in, H, W)`` float32 -> ``(B, C_out, H, W)`` float32; in throughput mode the batch is
        split into up to :attr:`requests` nearly equal parts run as parallel inference requests."""
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        parts = _split(batch, self.requests)
        self._outputs.clear()
        for index, part in enumerate(parts):
            self._queue.start_async(self._feed(part), index)
        self._queue.wait_all()
        outputs = [self._outputs.pop(i) for i in range(len(parts))]
        return outputs[0] if len(outputs) == 1 else np.concatenate(outputs)

    @cached_property
    def norms(self) -> GraphNorms | None:
        """Whole-image instance-norm statistics for tiled runs of an ``.onnx`` file: the graph rewritten
        by :func:`~i2i.infer.graph_statistics.statistics_graph`, compiled on first use with this
        backend's settings; ``None`` for an IR ``.xml`` (whose norms are already lowered to other
        operations) or a graph without instance norms."""
        import onnx

        if self.path.suffix.lower() != ".onnx":
            return None
        graph = statistics_graph(onnx.load(str(self.path)))
        if graph is None:
            return None
        with tempfile.TemporaryDirectory(prefix="i2i-statistics-") as folder:
            path = Path(folder) / "statistics.onnx"
            onnx.save(graph.proto, str(path))
            compiled = self.core.compile_model(self.core.read_model(str(path)), "CPU", self.config)
        request = compiled.create_infer_request()
        outputs = [compiled.output(graph.output_name), compiled.output(SUMS_OUTPUT)]

        def run_graph(feed: Mapping[str, np.ndarray]) -> list[np.ndarray]:
            results = request.infer(dict(feed))
            return [np.array(results[output], copy=True) for output in outputs]

        return GraphNorms(graph, run_graph, self._feed)

    def _feed(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        feed = {self.card.input_name: batch}
        if self.domain is not None:
            feed[DOMAIN_INPUT_NAME] = np.full(batch.shape[0], self.domain, dtype=np.int64)
        return feed

    def _collect(self, request: Any, index: int) -> None:
        self._outputs[index] = np.array(request.get_output_tensor(0).data, dtype=np.float32, copy=True)


def _split(batch: np.ndarray, requests: int) -> Sequence[np.ndarray]:
    """``batch`` in at most ``requests`` nearly equal parts along the batch axis (views, no copies)."""
    parts = min(requests, batch.shape[0])
    return [batch] if parts == 1 else [p for p in np.array_split(batch, parts) if p.shape[0]]
