"""Inference backends: one small protocol over ONNX Runtime, OpenVINO (:mod:`i2i.infer.openvino`) and eager
PyTorch (:mod:`i2i.infer.torch_backend`).

A backend maps a float32 batch ``(B, C_in, H, W)`` in ``card.value_range`` to a float32 batch
``(B, C_out, H, W)`` in the same range. It knows nothing about files, uint8 pixels, channels or padding;
:class:`~i2i.infer.translator.Translator` does that, so both backends see exactly the same tensors.

The exported-model backends import neither torch nor the training stack, so ``i2i translate`` with an
``.onnx`` model (and every worker of ``--engine ray``) starts in well under a second.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from i2i.card import ModelCard
from i2i.export.metadata import DOMAIN_INPUT_NAME, read_onnx_card
from i2i.infer.graph_statistics import SUMS_OUTPUT, GraphNorms, statistics_graph

__all__ = [
    "BACKENDS",
    "Backend",
    "OnnxBackend",
    "load_backend",
    "onnx_providers",
]

Device = Literal["auto", "cpu", "cuda", "tensorrt", "mps"]
Precision = Literal["fp32", "bf16", "fp16"]

_ORT_PROVIDERS: dict[str, str] = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
}


@runtime_checkable
class Backend(Protocol):
    """Runs a generator on a float batch.

    Attributes:
        card: How to feed the model: channels, value range, size multiple.
        name: Short description for reports (``"onnxruntime CPUExecutionProvider"``).

    Shape:
        - Input: ``(B, card.in_channels, H, W)`` float32 in ``card.value_range``; ``H`` and ``W``
          multiples of ``card.size_multiple``.
        - Output: ``(B, card.out_channels, H, W)`` float32 in ``card.value_range``.
    """

    card: ModelCard
    name: str

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Translate one batch."""
        ...


def onnx_providers(device: str = "auto", available: Sequence[str] | None = None) -> list[str]:
    """ONNX Runtime execution providers for ``device``, fastest first, CPU always last as fallback.

    Args:
        device: ``"auto"`` (TensorRT, then CUDA, then CPU, whichever are installed), ``"tensorrt"``,
            ``"cuda"`` or ``"cpu"``.
        available: Installed providers (default ``onnxruntime.get_available_providers()``).

    Raises:
        ValueError: An unknown device, or a device whose provider is not installed.

    Example:
        >>> onnx_providers("auto", ["CUDAExecutionProvider", "CPUExecutionProvider"])
        ['CUDAExecutionProvider', 'CPUExecutionProvider']
        >>> onnx_providers("cpu", ["CUDAExecutionProvider", "CPUExecutionProvider"])
        ['CPUExecutionProvider']
    """
    if available is None:
        import onnxruntime as ort

        available = ort.get_available_providers()
    if device == "auto":
        wanted = [_ORT_PROVIDERS[k] for k in ("tensorrt", "cuda", "cpu")]
        return [p for p in wanted if p in available] or [_ORT_PROVIDERS["cpu"]]
    if device not in _ORT_PROVIDERS:
        raise ValueError(
            f"device {device!r} is not available with ONNX Runtime; use one of auto, {', '.join(_ORT_PROVIDERS)}"
        )
    provider = _ORT_PROVIDERS[device]
    if provider not in available:
        raise ValueError(
            f"device {device!r} needs ONNX Runtime's {provider}, which is not installed "
            f"(installed: {', '.join(available)}); use --device auto or cpu"
        )
    return [provider] if device == "cpu" else [provider, _ORT_PROVIDERS["cpu"]]


class OnnxBackend:
    """An exported ``.onnx`` model on ONNX Runtime; its :class:`ModelCard` comes from the file.

    Args:
        path: ``.onnx`` file written by ``i2i export``.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"tensorrt"`` (see :func:`onnx_providers`).
        threads: Intra-op threads for the CPU provider (default: all cores).
        domain: Multi-domain (StarGAN) models: the target domain, one of ``card.domains``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        device: str = "auto",
        threads: int | None = None,
        domain: str | None = None,
    ) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        self.card = read_onnx_card(self.path)
        self.card.require_image_input(self.path, "translation")
        self.domain = self.card.domain_index(domain)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        self.providers = onnx_providers(device)
        self.options = options
        self.session = ort.InferenceSession(str(self.path), sess_options=options, providers=self.providers)
        self.name = f"onnxruntime {self.session.get_providers()[0]} ({self.card.precision})"

    def run(self, batch: np.ndarray) -> np.ndarray:
        (out,) = self.session.run([self.card.output_name], self.feed(batch))
        return np.asarray(out, dtype=np.float32)

    def feed(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """The session's inputs for a batch: the image, and the target domain of a multi-domain model."""
        feed = {self.card.input_name: np.ascontiguousarray(batch, dtype=np.float32)}
        if self.domain is not None:
            feed[DOMAIN_INPUT_NAME] = np.full(batch.shape[0], self.domain, dtype=np.int64)
        return feed

    @cached_property
    def norms(self) -> GraphNorms | None:
        """Whole-image instance-norm statistics for tiled runs: a second session on the graph rewritten
        by :func:`~i2i.infer.graph_statistics.statistics_graph` (built on first use); ``None`` for a graph
        without instance norms."""
        import onnx
        import onnxruntime as ort

        graph = statistics_graph(onnx.load(str(self.path)))
        if graph is None:
            return None
        session = ort.InferenceSession(
            graph.proto.SerializeToString(), sess_options=self.options, providers=self.providers
        )
        outputs = [graph.output_name, SUMS_OUTPUT]
        return GraphNorms(graph, lambda feed: session.run(outputs, dict(feed)), self.feed)


BACKENDS: tuple[str, ...] = ("auto", "onnxruntime", "openvino", "pytorch")


def load_backend(
    model: str | os.PathLike[str] | Backend,
    *,
    backend: str = "auto",
    device: str = "auto",
    precision: str | None = None,
    direction: str | None = None,
    domain: str | None = None,
    mode: str = "latency",
    **kwargs: Any,
) -> Backend:
    """The backend for ``model``; a backend is returned as is.

    Args:
        model: An ``.onnx`` file, an OpenVINO IR ``.xml``, a ``.safetensors`` file, a checkpoint
            directory or a run directory.
        backend: ``"auto"`` (by the file: ``.onnx`` -> ONNX Runtime, ``.xml`` -> OpenVINO, weights ->
            PyTorch), ``"onnxruntime"``, ``"openvino"`` (``.onnx`` or ``.xml``, CPU) or ``"pytorch"``.
        device: Where to run (see :class:`OnnxBackend`, :class:`~i2i.infer.torch_backend.TorchBackend`;
            OpenVINO: auto or cpu).
        precision: PyTorch: ``fp32``, ``bf16``, ``fp16``; OpenVINO: ``auto``, ``fp32``, ``bf16``, ``int8``
            (default auto, see :mod:`i2i.infer.openvino`); ONNX Runtime: set at export.
        direction: PyTorch files with both generators: ``"a2b"`` or ``"b2a"``.
        domain: Multi-domain (StarGAN) models: the target domain.
        mode: OpenVINO: ``"latency"`` (single images) or ``"throughput"`` (folders); ignored by the others.

    Raises:
        ValueError: An unknown backend, or options that do not apply (``precision`` or ``direction`` for
            an ONNX Runtime model, whose precision and direction were fixed at export).
    """
    if isinstance(model, Backend):
        return model
    path = Path(model)
    suffix = path.suffix.lower()
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r} (known: {', '.join(BACKENDS)})")
    if backend == "auto":
        backend = {".onnx": "onnxruntime", ".xml": "openvino"}.get(suffix, "pytorch")
    if backend in ("onnxruntime", "openvino") and direction is not None:
        raise ValueError(
            f"{path}: --direction applies to PyTorch models; an exported model has one direction"
        )
    if backend == "openvino":
        from i2i.infer.openvino import OpenVinoBackend

        if device not in ("auto", "cpu"):
            raise ValueError(f"{path}: the OpenVINO backend runs on the CPU; use --device auto or cpu")
        return OpenVinoBackend(path, precision=precision or "auto", mode=mode, domain=domain, **kwargs)
    if backend == "onnxruntime":
        if suffix != ".onnx":
            raise ValueError(f"{path}: ONNX Runtime reads .onnx files")
        if precision not in (None, "fp32"):
            raise ValueError(
                f"{path}: --precision applies to PyTorch and OpenVINO; an ONNX Runtime model's precision is "
                "set at export (i2i export --precision)"
            )
        return OnnxBackend(path, device=device, domain=domain, **kwargs)
    if suffix in (".onnx", ".xml"):
        raise ValueError(
            f"{path}: is an exported model; the PyTorch backend reads weights or run directories"
        )
    from i2i.infer.torch_backend import TorchBackend  # torch only for PyTorch models

    return TorchBackend.load(
        path, direction=direction, device=device, precision=precision, domain=domain, **kwargs
    )
