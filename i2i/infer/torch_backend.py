"""Eager PyTorch inference: a generator from a weights file, checkpoint or run directory.

The one backend that needs torch, so it lives apart from :mod:`i2i.infer.backends` (which
:func:`~i2i.infer.backends.load_backend` imports it from only for PyTorch models).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from i2i.card import ModelCard
from i2i.infer.module_statistics import WholeImageNorms
from i2i.weights import load_generator

__all__ = ["TorchBackend", "torch_device"]


def torch_device(device: str = "auto") -> torch.device:
    """``"auto"`` -> CUDA if available, else MPS if available, else CPU; other names pass through."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if device not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device {device!r} is not available with PyTorch; use one of auto, cpu, cuda, mps")
    return torch.device(device)


class TorchBackend:
    """A generator in eager PyTorch under ``torch.inference_mode``.

    Args:
        module: The generator (put in eval mode here).
        card: How to feed it (for weight files: the card :func:`~i2i.weights.load_generator` returns).
        device: ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"`` or ``"mps"``.
        precision: ``"fp32"`` (default), ``"bf16"`` (autocast; on CPUs with AVX512-BF16 about twice as
            fast for a mean absolute error near 0.008 in [-1, 1] units) or ``"fp16"`` (autocast, CUDA only).
        channels_last: NHWC memory layout; default on for CUDA and for bf16/fp16 autocast, where the
            convolution kernels prefer it, off for fp32 on CPU, where it measured no faster.
        domain: Multi-domain (StarGAN) models: the target domain, one of ``card.domains``.

    Attributes:
        norms: The generator's instance-norm layers, whose statistics tiled inference fixes to the whole
            image's (:class:`~i2i.infer.module_statistics.WholeImageNorms`); ``None`` when it has none.
    """

    def __init__(
        self,
        module: nn.Module,
        card: ModelCard,
        *,
        device: str = "auto",
        precision: str | None = None,
        channels_last: bool | None = None,
        domain: str | None = None,
    ) -> None:
        card.require_image_input(card.arch, "translation")
        self.domain = card.domain_index(domain)
        self.device = torch_device(device)
        self.precision = precision or "fp32"
        if self.precision not in ("fp32", "bf16", "fp16"):
            raise ValueError(f"precision must be fp32, bf16 or fp16, got {self.precision!r}")
        if self.precision == "fp16" and self.device.type != "cuda":
            raise ValueError("precision fp16 needs a CUDA device; use bf16 on CPU")
        if channels_last is None:
            channels_last = self.device.type == "cuda" or self.precision != "fp32"
        self.channels_last = channels_last
        norms = WholeImageNorms(module, self.run)
        self.norms: WholeImageNorms | None = norms if norms.layers else None
        self.module = module.eval().to(self.device)
        if channels_last:
            self.module = self.module.to(memory_format=torch.channels_last)
        self.card = card
        self.name = f"pytorch {self.device.type} ({self.precision})"
        self._autocast_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision)

    @classmethod
    def load(
        cls,
        source: str | os.PathLike[str],
        *,
        direction: str | None = None,
        device: str = "auto",
        precision: str | None = None,
        channels_last: bool | None = None,
        domain: str | None = None,
    ) -> TorchBackend:
        """A backend for a ``.safetensors`` file, a checkpoint directory or a run directory."""
        module, card = load_generator(Path(source), direction=direction)
        card.require_image_input(str(source), "translation")
        card = card.replace(precision=precision or "fp32")
        return cls(
            module, card, device=device, precision=precision, channels_last=channels_last, domain=domain
        )

    def run(self, batch: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.device)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with (
            torch.inference_mode(),
            torch.autocast(
                self.device.type,
                dtype=self._autocast_dtype or torch.float32,
                enabled=self._autocast_dtype is not None,
            ),
        ):
            domain = (
                () if self.domain is None else (torch.full((x.shape[0],), self.domain, device=self.device),)
            )
            y = self.module(x, *domain)
        return y.float().contiguous().cpu().numpy()
