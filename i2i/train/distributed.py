"""Multi-GPU and multi-node training with ``torch.distributed``: process groups, DDP inside a method, launch.

One process per device, started by ``torchrun --nproc_per_node=N -m i2i train RECIPE`` (any number of
nodes) or by ``i2i train --devices N`` (one node; :func:`launch` runs torch's elastic launcher
in-process). Each process trains on its own shard of every epoch (``DistributedSampler``) with a batch of
``train.batch_size``; gradients are averaged over the processes, so a step sees
``world_size * train.batch_size`` images (the README's "Multi-GPU training" has the learning-rate rules).

How DDP fits a method that owns its step. A method calls its networks directly, several times per step
(CycleGAN's generators run three times, a discriminator sees real and fake batches separately), and
calls a discriminator with its parameters frozen to train the generator through it.
:func:`wrap_networks` replaces every network attribute of the method by a :class:`MethodDDP` around the
same module, so the method's code stays as it is:

- several forward calls before one backward are fine for DDP (a parameter's gradient is accumulated once
  per backward, then reduced);
- a network called with every parameter frozen (``frozen(discriminator)``) or without autograd is run
  *without* DDP: its parameters take no part in that backward, which plain DDP would wait for forever;
  the gradient still flows through it into the generator, whose DDP reduces it;
- the gradient penalty (``wgangp``) differentiates D's output with respect to its *input* with
  ``create_graph=True`` (no parameter gradient is accumulated by that call) and the final backward
  accumulates and reduces the parameters' gradients, second-order term included; a test checks that the
  ranks stay identical under it;
- batch norm becomes ``SyncBatchNorm`` when ``train.sync_batchnorm`` resolves on (CUDA only: torch
  synchronises batch norm only on accelerators; on the CPU each process normalises its own batch);
- buffers are not broadcast at each forward (``broadcast_buffers=False``): with synchronised batch norm
  the running statistics agree anyway, and checkpoints hold rank 0's.

Checkpoints, samples and metrics are written by rank 0 only; every rank loads the same checkpoint to
resume, and each rank's RNG and image-pool state are gathered into it so a resume with the same number
of processes continues every rank's random stream.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import random
import signal
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from i2i.methods import Method
from i2i.train.logging import RunLogger

__all__ = [
    "DistributedContext",
    "MethodDDP",
    "SilentRunLogger",
    "all_ranks_agree",
    "average_tensor",
    "barrier",
    "distributed_session",
    "gather_objects",
    "launch",
    "on_main_rank",
    "seed_rank",
    "shard_batches",
    "unwrapped",
    "wrap_networks",
]

logger = logging.getLogger("i2i.train")

T = TypeVar("T")


@dataclass(frozen=True)
class DistributedContext:
    """Where this process stands in a distributed run (``world_size == 1``: not distributed).

    Attributes:
        rank: This process's rank among all processes.
        local_rank: Its rank on this node (selects the GPU).
        world_size: Processes training together.
    """

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def enabled(self) -> bool:
        """More than one process trains."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """This is rank 0, the one that writes files."""
        return self.rank == 0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DistributedContext:
        """The context ``torchrun`` (or :func:`launch`) describes in ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``."""
        env = os.environ if env is None else env
        world = int(env.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        return cls(rank=int(env["RANK"]), local_rank=int(env.get("LOCAL_RANK", "0")), world_size=world)

    def device(self, device: torch.device) -> torch.device:
        """This process's device: ``cuda:LOCAL_RANK`` for a CUDA run, ``device`` otherwise."""
        if self.enabled and device.type == "cuda":
            return torch.device("cuda", self.local_rank)
        return device


@contextlib.contextmanager
def distributed_session(device: torch.device) -> Iterator[tuple[DistributedContext, torch.device]]:
    """Join the process group the environment describes (if any) for the duration of a run.

    NCCL for CUDA devices, gloo otherwise. A group that already exists (a caller initialised it) is
    used and left open; one created here is destroyed at the end.

    Yields:
        ``(context, device)``: this process's place and its device (``cuda:LOCAL_RANK`` for CUDA).
    """
    context = DistributedContext.from_env()
    own_device = context.device(device)
    if not context.enabled:
        yield context, own_device
        return
    if own_device.type == "cuda":
        torch.cuda.set_device(own_device)
    created = not dist.is_initialized()
    if created:
        backend = "nccl" if own_device.type == "cuda" else "gloo"
        dist.init_process_group(
            backend, rank=context.rank, world_size=context.world_size, device_id=_device_id(own_device)
        )
    try:
        yield context, own_device
    finally:
        if created and dist.is_initialized():
            dist.destroy_process_group()


def _device_id(device: torch.device) -> torch.device | None:
    return device if device.type == "cuda" else None


# Buffers are synchronised once, when DDP starts, not at every forward (the option's name changed).
_NO_BUFFER_SYNC: dict[str, Any] = (
    {"forward_sync_buffers": False}
    if "forward_sync_buffers" in inspect.signature(DistributedDataParallel.__init__).parameters
    else {"broadcast_buffers": False}
)


class MethodDDP(DistributedDataParallel):
    """DDP for a network its method calls several times per step and sometimes with frozen parameters.

    Without autograd, or with every parameter frozen, the call goes to the wrapped module directly: such
    a call adds no parameter gradient, so there is nothing to reduce (see the module).
    """

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        if not torch.is_grad_enabled() or not any(p.requires_grad for p in self.module.parameters()):
            return self.module(*inputs, **kwargs)
        return super().forward(*inputs, **kwargs)


def wrap_networks(method: Method, device: torch.device, *, sync_batchnorm: bool = False) -> Method:
    """Wrap each of the method's networks in :class:`MethodDDP` in place (same attribute names).

    The optimizers keep working: DDP shares the module's parameter tensors. Call after the networks
    are on ``device`` and compiled, inside a process group. Networks without trainable parameters are
    left as they are.

    Returns:
        ``method``, for chaining.
    """
    for name, network in method.networks().items():
        if sync_batchnorm:
            network = nn.SyncBatchNorm.convert_sync_batchnorm(network)
        if not any(p.requires_grad for p in network.parameters()):
            setattr(method, name, network)
            continue
        ddp = MethodDDP(
            network, device_ids=[device.index] if device.type == "cuda" else None, **_NO_BUFFER_SYNC
        )
        setattr(method, name, ddp)
    return method


@contextlib.contextmanager
def unwrapped(method: Method) -> Iterator[Method]:
    """Temporarily put the plain networks back (for checkpoints, samples and loading state).

    ``state_dict`` keys then carry no ``module.`` prefix, and a sample on rank 0 alone runs no
    collective operation.
    """
    wrapped = {
        name: net for name, net in method.networks().items() if isinstance(net, DistributedDataParallel)
    }
    for name, net in wrapped.items():
        setattr(method, name, net.module)
    try:
        yield method
    finally:
        for name, net in wrapped.items():
            setattr(method, name, net)


def seed_rank(seed: int, context: DistributedContext) -> None:
    """Give ranks > 0 random streams of their own (dropout, gradient-penalty mixing); rank 0 keeps
    the single-process stream. Call after the networks were built (DDP copies rank 0's weights anyway).
    """
    if context.rank == 0:
        return
    words = np.random.SeedSequence([seed, context.rank]).generate_state(2)
    random.seed(int(words[0]))
    np.random.seed(int(words[1]))
    torch.manual_seed(int(words[0]) << 32 | int(words[1]))


def shard_batches(
    size: int, batch_size: int, *, seed: int, epoch: int, context: DistributedContext
) -> list[list[int]]:
    """This rank's batches of ``epoch``: torch's ``DistributedSampler`` (shuffled, ``set_epoch``) in batches.

    Every rank gets ``ceil(size / world_size)`` indices (the sampler repeats a few to even the shards);
    the same ``(seed, epoch)`` gives the same shards, so a resume can skip the batches already done.
    """
    from torch.utils.data import DistributedSampler

    sampler: DistributedSampler[int] = DistributedSampler(
        range(size),  # type: ignore[arg-type]
        num_replicas=context.world_size,
        rank=context.rank,
        shuffle=True,
        seed=seed,
    )
    sampler.set_epoch(epoch)
    order = list(sampler)
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def average_tensor(values: Tensor, context: DistributedContext) -> Tensor:
    """The mean of ``values`` over all ranks (``values`` itself when not distributed)."""
    if not context.enabled:
        return values
    total = values.detach().clone()
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total / context.world_size


def all_ranks_agree(flag: bool, context: DistributedContext, device: torch.device) -> bool:
    """True on every rank when ``flag`` is true on any rank (a Ctrl-C seen by one process stops all)."""
    if not context.enabled:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item() > 0)


def gather_objects(value: T, context: DistributedContext) -> list[T]:
    """``value`` of every rank, in rank order, on every rank (``[value]`` when not distributed)."""
    if not context.enabled:
        return [value]
    gathered: list[Any] = [None] * context.world_size
    dist.all_gather_object(gathered, _to_cpu(value))  # device tensors would unpickle on their GPU
    return gathered


def _to_cpu(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(v) for v in value)
    return value


def on_main_rank(fn: Callable[[], T], context: DistributedContext) -> T:
    """Run ``fn`` on rank 0 and hand its result to every rank; an exception is raised on every rank.

    Used for what only one process may do (preparing the run directory) but all must know the outcome of.
    """
    if not context.enabled:
        return fn()
    box: list[Any] = [None]
    if context.is_main:
        try:
            box[0] = ("ok", fn())
        except Exception as error:
            box[0] = ("error", error)
    dist.broadcast_object_list(box, src=0)
    kind, value = box[0]
    if kind == "error":
        raise value
    return value


def barrier(context: DistributedContext) -> None:
    """Wait for every rank (nothing when not distributed)."""
    if context.enabled:
        dist.barrier()


def launch(fn: Callable[..., T], args: Sequence[Any], *, nproc: int) -> T:
    """Run ``fn(*args)`` in ``nproc`` processes on this machine as one distributed job; rank 0's result.

    Uses torch's elastic launcher (what ``torchrun --standalone`` runs), in-process: ``fn`` must be
    importable by name (a module-level function) and ``args`` picklable. Each process sees ``RANK``,
    ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT`` (a free port on 127.0.0.1).

    Raises:
        torch.distributed.elastic.multiprocessing.errors.ChildFailedError: A process failed; the
            message holds its exception.
    """
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    if nproc < 1:
        raise ValueError(f"nproc must be at least 1, got {nproc}")
    config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=nproc,
        run_id=f"i2i-{uuid.uuid4().hex[:12]}",
        rdzv_backend="c10d",
        rdzv_endpoint="127.0.0.1:0",
        max_restarts=0,
        monitor_interval=0.2,
        start_method="spawn",
    )
    # The launcher installs its own handlers (they stop the processes) and leaves them: restore ours.
    signals = [
        getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT") if hasattr(signal, name)
    ]
    saved = {sig: signal.getsignal(sig) for sig in signals}
    try:
        results = elastic_launch(config, fn)(*args)
    finally:
        if threading.current_thread() is threading.main_thread():
            for sig, handler in saved.items():
                if handler is not None:
                    signal.signal(sig, handler)
    return results[0]


class SilentRunLogger(RunLogger):
    """The :class:`~i2i.train.logging.RunLogger` of ranks other than 0: it writes and shows nothing."""

    def __init__(self) -> None:  # no files, no TensorBoard writer, no progress bar
        pass

    def update(self, step: int, epoch: str, losses: Mapping[str, float]) -> None:
        pass

    def log(
        self, step: int, epoch: int, losses: Mapping[str, float], lrs: Mapping[str, float]
    ) -> dict[str, Any]:
        return {}

    def log_eval(self, step: int, metrics: Mapping[str, float]) -> None:
        pass

    def sample(self, step: int, columns: Mapping[str, Tensor]) -> Path:
        raise RuntimeError("only rank 0 writes sample grids")

    def message(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass
