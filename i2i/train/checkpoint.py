"""Checkpoints: a method's weights (safetensors) and everything else needed to resume exactly (state.pt).

A checkpoint is a directory ``RUN/checkpoints/step_00001234/`` holding

- ``weights.safetensors``: every network of the method, keys prefixed by the network's name
  (``generator.``, ``g_ab.`` ...), and a :class:`~i2i.card.ModelCard` for each inference
  generator, so ``i2i export`` / ``i2i translate`` can use the checkpoint alone;
- ``state.pt``: optimizer, scheduler and grad-scaler state, the method's extra state (image pools),
  the RNG states (python, numpy, torch, CUDA, the data sampler) and the position in training (step,
  epoch, batches done in the epoch). Only tensors, numbers, strings, lists and dicts, so it loads with
  ``torch.load(weights_only=True)``.

Both files are written atomically (``state.pt`` first, so a directory with a weights file always has
its state), then the ``checkpoints/last`` pointer is replaced atomically.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file

from i2i.files import atomic_path, write_text_atomic
from i2i.methods import Method
from i2i.run_dir import STATE_FILE, WEIGHTS_FILE, RunDir, checkpoint_name, checkpoint_step
from i2i.weights import save_weights

__all__ = [
    "checkpoint_name",
    "get_rng_state",
    "load_checkpoint",
    "method_tensors",
    "prune_checkpoints",
    "save_checkpoint",
    "set_rng_state",
]

STATE_FORMAT = 1


def method_tensors(method: Method) -> dict[str, torch.Tensor]:
    """Every network's ``state_dict`` (parameters and buffers), keys prefixed by the network's name."""
    return {
        f"{name}.{key}": tensor
        for name, network in method.networks().items()
        for key, tensor in network.state_dict().items()
    }


def get_rng_state() -> dict[str, Any]:
    """The global RNG states of python, numpy, torch and CUDA as tensors, numbers and lists."""
    version, internal, gauss_next = random.getstate()
    kind, keys, pos, has_gauss, cached_gaussian = np.random.get_state(legacy=True)
    return {
        "python": {"version": int(version), "internal": [int(x) for x in internal], "gauss_next": gauss_next},
        "numpy": {
            "kind": str(kind),
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),  # uint32 values, stored as int64
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached_gaussian),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore what :func:`get_rng_state` returned (CUDA states only where the devices exist)."""
    python = state["python"]
    random.setstate((python["version"], tuple(python["internal"]), python["gauss_next"]))
    n = state["numpy"]
    keys = n["keys"].numpy().astype(np.uint32)
    np.random.set_state((n["kind"], keys, n["pos"], n["has_gauss"], n["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    cuda = state["cuda"]
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


def save_checkpoint(
    run_dir: Path,
    step: int,
    *,
    method: Method,
    state: Mapping[str, Any],
    recipe: str = "",
    crop_size: int | None = None,
    keep: int | None = None,
    keep_every_steps: int | None = None,
) -> Path:
    """Write checkpoint ``step`` of ``method`` into ``run_dir`` and point ``checkpoints/last`` at it.

    Args:
        run_dir: The run directory.
        step: Optimisation steps done; names the directory.
        method: The method whose networks are saved (and described, for its generators).
        state: The rest of the training state (see the module); must be ``weights_only``-loadable.
        recipe: The resolved recipe YAML, stored with each generator description.
        crop_size: Training crop size, stored with each generator description.
        keep: Keep only the newest ``keep`` checkpoints (None keeps all).
        keep_every_steps: With ``keep``, also keep every checkpoint whose step is a multiple of this
            (the trainer passes ``train.keep_every_epochs`` epochs in steps: one checkpoint every N epochs).

    Returns:
        The checkpoint directory.
    """
    run = RunDir(run_dir)
    directory = run.checkpoint(step)
    directory.mkdir(parents=True, exist_ok=True)
    with atomic_path(directory / STATE_FILE) as tmp:
        torch.save({"format": STATE_FORMAT, **state}, tmp)
    save_weights(
        directory / WEIGHTS_FILE,
        method_tensors(method),
        generators=method.model_cards(recipe=recipe, crop_size=crop_size),
        metadata={"i2i.method": method.method_name, "i2i.step": str(step)},
    )
    write_text_atomic(run.last_pointer, directory.name + "\n")
    if keep is not None:
        prune_checkpoints(run_dir, keep, keep_every_steps=keep_every_steps)
    return directory


def prune_checkpoints(run_dir: Path, keep: int, *, keep_every_steps: int | None = None) -> list[Path]:
    """Delete all but the newest ``keep`` checkpoint directories and return the deleted ones.

    Never deleted: those ``last`` or ``best`` name, and, with ``keep_every_steps``, those whose step is a
    multiple of it (the milestones, e.g. one every 5 epochs as the reference keeps).
    """
    if keep_every_steps is not None and keep_every_steps < 1:
        raise ValueError(f"keep_every_steps must be positive, got {keep_every_steps}")
    run = RunDir(run_dir)
    pointers = [run.last_pointer, run.best_pointer]
    named = {p.read_text(encoding="utf-8").strip() for p in pointers if p.is_file()}

    def milestone(directory: Path) -> bool:
        step = checkpoint_step(directory.name)
        return keep_every_steps is not None and step is not None and step % keep_every_steps == 0

    directories = run.checkpoint_dirs()
    removed = [
        p for p in directories[: max(0, len(directories) - keep)] if p.name not in named and not milestone(p)
    ]
    for directory in removed:
        shutil.rmtree(directory)
    return removed


def load_checkpoint(directory: Path, method: Method) -> dict[str, Any]:
    """Load a checkpoint's weights into ``method`` and return its training state (``state.pt``).

    Raises:
        ValueError: When the weights do not fit the method's networks (naming the checkpoint).
    """
    directory = Path(directory)
    tensors = load_file(str(directory / WEIGHTS_FILE))
    for name, network in method.networks().items():
        prefix = f"{name}."
        own = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        try:
            network.load_state_dict(own, strict=True)
        except RuntimeError as error:
            first = str(error).strip().splitlines()[0]
            raise ValueError(
                f"{directory}: network {name!r} does not match the checkpoint: {first}"
            ) from None
    state: dict[str, Any] = torch.load(directory / STATE_FILE, map_location="cpu", weights_only=True)
    if state.get("format") != STATE_FORMAT:
        raise ValueError(f"{directory / STATE_FILE}: unknown state format {state.get('format')!r}")
    return state
