"""Training fast paths: their per-device defaults and how each is applied to a method's networks.

Every fast path is a ``train.*`` recipe option that is ``true``, ``false`` or ``"auto"``; :func:`resolve_fast_paths`
turns ``"auto"`` into the setting that pays off on the run's device:

=====================  ==============================  =================================================
option                 auto                            what it does
=====================  ==============================  =================================================
``channels_last``      on for CUDA                     NHWC weights and inputs (tensor-core convolutions)
``compile``            on for CUDA                     ``torch.compile`` of every network (not of a
                                                       discriminator under ``wgangp``: no double backward)
``adam``               ``fused`` on CUDA and CPU,      one kernel for all parameters instead of one per
                       ``foreach`` elsewhere           tensor
``cudnn_benchmark``    on for CUDA                     cuDNN picks the fastest convolution per shape
``pin_memory``         on for CUDA                     page-locked batches, copied asynchronously
``persistent_workers`` on when ``data.num_workers``>0  data workers live for the whole run
``sync_batchnorm``     on for multi-process CUDA       batch statistics over all processes
=====================  ==============================  =================================================

None of them changes what is learned beyond float rounding; mixed precision (``train.precision``) does,
so it stays an explicit choice (fp32 by default). ``torch.compile`` on the CPU needs a C++ compiler and
takes minutes, which a CPU run rarely wins back, so ``auto`` leaves it off there.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from i2i.data._base import item_seed
from i2i.data.gpu_transforms import BatchAugment
from i2i.data.layouts import data_layout
from i2i.losses import gan_objective
from i2i.methods import Batch, Method

__all__ = [
    "FastPaths",
    "apply_fast_paths",
    "augment_seed",
    "batch_augment",
    "channels_last_batch",
    "cudnn_benchmark",
    "is_compiled",
    "prepare_batch",
    "resolve_fast_paths",
    "set_adam_impl",
]

logger = logging.getLogger("i2i.train")

AdamImpl = Literal["fused", "foreach", "for_loop"]
_FUSED_DEVICES = ("cuda", "cpu")


@dataclass(frozen=True)
class FastPaths:
    """The fast paths of one run, resolved for its device (see the module)."""

    channels_last: bool = False
    compile: bool = False
    compile_mode: str = "default"
    compile_backend: str = "inductor"
    adam: AdamImpl = "for_loop"
    cudnn_benchmark: bool = False
    pin_memory: bool = False
    persistent_workers: bool = False
    sync_batchnorm: bool = False


def _choose(value: bool | str, auto: bool) -> bool:
    return auto if value == "auto" else bool(value)


def resolve_fast_paths(
    train: Any, device: torch.device, *, num_workers: int = 0, world_size: int = 1
) -> FastPaths:
    """Resolve the ``train`` section's fast-path options (``"auto"`` included) for ``device``.

    Args:
        train: A recipe's ``train`` section (:class:`i2i.config.schema.TrainConfig`).
        device: The device the run trains on.
        num_workers: Data worker processes the run uses (persistent workers need some).
        world_size: Processes training together (synchronised batch norm needs more than one).

    Returns:
        A :class:`FastPaths`.
    """
    cuda = device.type == "cuda"
    sync_batchnorm = _choose(train.sync_batchnorm, cuda and world_size > 1) and world_size > 1
    if sync_batchnorm and device.type == "cpu":  # torch synchronises batch norm on accelerators only
        logger.warning(
            "train.sync_batchnorm: not available on the CPU; each process normalises its own batch"
        )
        sync_batchnorm = False
    adam: str = train.adam
    if adam == "auto":
        adam = "fused" if device.type in _FUSED_DEVICES else "foreach"
    return FastPaths(
        channels_last=_choose(train.channels_last, cuda),
        compile=_choose(train.compile, cuda),
        compile_mode=train.compile_mode,
        compile_backend=train.compile_backend,
        adam=adam,  # type: ignore[arg-type]
        cudnn_benchmark=_choose(train.cudnn_benchmark, cuda) and cuda,
        pin_memory=_choose(train.pin_memory, cuda) and device.type != "cpu",
        persistent_workers=_choose(train.persistent_workers, num_workers > 0) and num_workers > 0,
        sync_batchnorm=sync_batchnorm,
    )


def set_adam_impl(method: Method, impl: AdamImpl) -> None:
    """Rebuild the method's optimizers with the ``fused``, ``foreach`` or ``for_loop`` Adam kernel
    (the method builds them: :meth:`~i2i.methods.Method.build_optimizers`). Call before the first step
    and before loading optimizer state."""
    method.build_optimizers(method.optimizer_settings, kernel=impl)


def apply_fast_paths(method: Method, fast: FastPaths) -> Method:
    """Apply the network-side fast paths to ``method`` in place: Adam kernel, channels-last, compile.

    ``torch.compile`` compiles each network module in place (``nn.Module.compile``), so attribute
    names, ``state_dict`` keys and checkpoints stay as they are. A discriminator is left eager when the
    method's objective is not ``compilable`` (a gradient penalty's double backward, ``wgangp``).

    Returns:
        ``method``, for chaining.
    """
    set_adam_impl(method, fast.adam)
    if fast.channels_last:
        method.to(memory_format=torch.channels_last)
    if fast.compile:
        generators = method.generators()
        options: dict[str, Any] = {"backend": fast.compile_backend}
        if fast.compile_backend == "inductor":
            options["mode"] = fast.compile_mode
        for name, network in method.networks().items():
            if name not in generators and not gan_objective(method.gan_mode).compilable:
                logger.info("not compiling %s: the gradient penalty needs a double backward", name)
                continue
            network.compile(**options)
    return method


def channels_last_batch(batch: Batch) -> Batch:
    """``batch`` with its images in channels-last memory format (the values are unchanged)."""
    return dataclasses.replace(
        batch,
        a=batch.a.contiguous(memory_format=torch.channels_last),
        b=batch.b.contiguous(memory_format=torch.channels_last),
    )


@contextlib.contextmanager
def cudnn_benchmark(enabled: bool) -> Iterator[None]:
    """Set ``torch.backends.cudnn.benchmark`` for the duration of a run and restore it after."""
    previous = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = enabled
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = previous


def is_compiled(network: nn.Module) -> bool:
    """Whether ``network`` was compiled in place by :func:`apply_fast_paths`."""
    return getattr(network, "_compiled_call_impl", None) is not None


def batch_augment(recipe: Any) -> BatchAugment | None:
    """The device-side augmentation a recipe asks for (``data.augment_on: device``), else None.

    Both sides of a batch get the same draws when the layout is paired, or labelled (its batch holds
    one image per item as both ``a`` and ``b``, which must stay equal); unpaired sides draw their own.
    """
    data = recipe.data
    if data.augment_on != "device":
        return None
    layout = data_layout(data.layout)
    return BatchAugment(
        crop_size=data.crop_size if data.preprocess == "resize_and_crop" else None,
        flip=data.flip,
        color_jitter=data.color_jitter,
        paired=layout.paired or layout.labelled,
    )


def augment_seed(seed: int, epoch: int, position: int, rank: int = 0) -> int:
    """Seed of the device augmentation of batch ``position`` of ``epoch`` on ``rank`` (resumable)."""
    return item_seed(seed, epoch, position, rank, "device_augment")


def prepare_batch(
    batch: Batch, *, augment: BatchAugment | None = None, seed: int = 0, channels_last: bool = False
) -> Batch:
    """Apply the device augmentation (with ``seed``) and the memory format to a batch on its device."""
    if augment is not None:
        a, b = augment(batch.a, batch.b, seed=seed)
        batch = dataclasses.replace(batch, a=a, b=b)  # labels and paths stay
    return channels_last_batch(batch) if channels_last else batch
