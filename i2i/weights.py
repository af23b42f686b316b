"""Weight files that carry their own preprocessing, and the run-directory layout that holds them.

A weights file is a safetensors file with the tensors of one or more networks, keys prefixed by the
network's name (``g_ab.``, ``discriminator.`` ...), and a JSON header entry that describes each
*generator* in it: architecture, constructor arguments, direction, method, training crop size and the
resolved recipe. That is all :func:`load_generator` (and so ``i2i export`` / ``i2i translate``) needs.

A run directory (written by ``i2i train``)::

    RUN/recipe.yaml                                  the resolved recipe
    RUN/checkpoints/step_00001000/weights.safetensors
    RUN/checkpoints/step_00001000/state.pt           optimizers, schedulers, pools, RNG (weights_only)
    RUN/checkpoints/last                             text: the name of the newest complete checkpoint
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import Tensor, nn

from i2i import __version__

WEIGHTS_FILE = "weights.safetensors"
STATE_FILE = "state.pt"
CHECKPOINTS_DIR = "checkpoints"
LAST_POINTER = "last"
BEST_POINTER = "best"  # names the best checkpoint by the evaluation metric (train.eval_every)
_SPECS_KEY = "i2i.generators"
_FORMAT_KEY = "i2i.format"
_FORMAT = "1"


class WeightsError(ValueError):
    """A weights file, checkpoint or run directory that cannot be used; the message names the path."""


@dataclass(frozen=True)
class GeneratorSpec:
    """Everything needed to rebuild one generator and feed it correctly.

    Attributes:
        arch: Registered generator name (``"resnet_9blocks"``).
        kwargs: Builder keyword arguments (``in_channels``, ``out_channels``, ``base_channels``, ``norm`` ...).
        direction: ``"a2b"`` or ``"b2a"``: which domain the generator maps from.
        method: The method that trained it (``"cyclegan"``, ``"pix2pix"``, ``"reference"``).
        crop_size: Training crop size in pixels, or ``None`` when unknown.
        recipe: The resolved recipe as YAML text ("" when unknown).
        key_prefix: Prefix of its tensors in the weights file (``"g_ab."``; "" for a lone generator).
        value_range: Pixel range the network reads and writes (images are mapped linearly to it).
        extra: Free-form string metadata (for example the source file of an imported model).
    """

    arch: str
    kwargs: dict[str, Any]
    direction: str = "a2b"
    method: str = "unknown"
    crop_size: int | None = None
    recipe: str = ""
    key_prefix: str = ""
    value_range: tuple[float, float] = (-1.0, 1.0)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def in_channels(self) -> int:
        return int(self.kwargs.get("in_channels", 3))

    @property
    def out_channels(self) -> int:
        return int(self.kwargs.get("out_channels", 3))

    def build(self) -> nn.Module:
        """A freshly initialised generator of this architecture (weights not loaded)."""
        from i2i.nn import create_generator

        return create_generator(self.arch, **self.kwargs)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GeneratorSpec:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "value_range" in values:
            values["value_range"] = tuple(values["value_range"])
        return cls(**values)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically.

    On an exception the temporary file is removed and ``path`` is left as it was.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new content, never a mix."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def save_weights(
    path: Path,
    tensors: Mapping[str, Tensor],
    generators: Sequence[GeneratorSpec] = (),
    metadata: Mapping[str, str] | None = None,
) -> None:
    """Write ``tensors`` and the generator descriptions to a safetensors file, atomically.

    Args:
        path: Destination ``.safetensors`` file.
        tensors: Name -> tensor; non-contiguous or shared tensors are copied.
        generators: Descriptions of the generators whose tensors are in ``tensors`` (by ``key_prefix``).
        metadata: Extra string metadata for the header.
    """
    for spec in generators:
        if spec.key_prefix and not any(k.startswith(spec.key_prefix) for k in tensors):
            raise WeightsError(f"{path}: no tensor starts with the generator prefix {spec.key_prefix!r}")
    header = {
        **(metadata or {}),
        _FORMAT_KEY: _FORMAT,
        "i2i.version": __version__,
        _SPECS_KEY: json.dumps([spec.to_json() for spec in generators]),
    }
    plain = {name: t.detach().to("cpu").contiguous().clone() for name, t in tensors.items()}
    with atomic_path(Path(path)) as tmp:
        save_file(plain, str(tmp), metadata=header)


def read_metadata(path: Path) -> dict[str, str]:
    """The string metadata of a safetensors file."""
    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except Exception as error:  # safetensors raises its own error types for damaged files
        raise WeightsError(f"{path}: not a readable safetensors file ({error})") from error


def read_generator_specs(path: Path) -> list[GeneratorSpec]:
    """The generator descriptions stored in a weights file (empty for a file i2i did not write)."""
    raw = read_metadata(path).get(_SPECS_KEY)
    if raw is None:
        return []
    return [GeneratorSpec.from_json(item) for item in json.loads(raw)]


def resolve_weights_file(source: Path) -> Path:
    """The weights file behind a ``.safetensors`` file, a checkpoint directory or a run directory."""
    source = Path(source)
    if source.is_file():
        return source
    if not source.exists():
        raise WeightsError(f"{source}: no such file or directory")
    if (source / WEIGHTS_FILE).is_file():
        return source / WEIGHTS_FILE
    checkpoint = latest_checkpoint(source)
    if checkpoint is None:
        raise WeightsError(
            f"{source}: not a weights file, a checkpoint directory or a run directory with checkpoints"
        )
    return checkpoint / WEIGHTS_FILE


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint directory of a run (``None`` when there is none).

    Follows the ``checkpoints/last`` pointer; falls back to the highest ``step_*`` directory that
    holds a weights file, so a run killed while writing the pointer still resumes.
    """
    root = Path(run_dir) / CHECKPOINTS_DIR
    pointer = root / LAST_POINTER
    if pointer.is_file():
        named = root / pointer.read_text(encoding="utf-8").strip()
        if (named / WEIGHTS_FILE).is_file():
            return named
    candidates = sorted(p for p in root.glob("step_*") if (p / WEIGHTS_FILE).is_file())
    return candidates[-1] if candidates else None


def load_generator(
    source: Path, direction: str | None = None, device: str | torch.device = "cpu"
) -> tuple[nn.Module, GeneratorSpec]:
    """Rebuild a trained generator, in eval mode, with the description it was saved with.

    Args:
        source: A ``.safetensors`` weights file, a checkpoint directory or a run directory.
        direction: ``"a2b"`` or ``"b2a"``; required only when the file holds generators for both.
        device: Where to put the network.

    Returns:
        ``(generator, spec)``; the generator maps ``(B, C_in, H, W)`` in ``spec.value_range`` to
        ``(B, C_out, H, W)`` in the same range.
    """
    path = resolve_weights_file(Path(source))
    specs = read_generator_specs(path)
    if not specs:
        raise WeightsError(
            f"{path}: holds no i2i generator description; for a reference pix2pix/CycleGAN .pth file use "
            "`i2i import-reference FILE --arch NAME --out model.safetensors` first"
        )
    spec = _pick_direction(path, specs, direction)
    model = spec.build()
    tensors: dict[str, Tensor] = {}
    with safe_open(str(path), framework="pt", device="cpu") as f:
        for key in f.keys():  # noqa: SIM118 - safe_open is not a mapping
            if key.startswith(spec.key_prefix):
                tensors[key[len(spec.key_prefix) :]] = f.get_tensor(key)
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    if missing or unexpected:
        raise WeightsError(
            f"{path}: generator {spec.arch!r} (prefix {spec.key_prefix!r}) does not match the stored "
            f"tensors: missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}"
        )
    return model.to(device).eval(), spec


def _pick_direction(path: Path, specs: Sequence[GeneratorSpec], direction: str | None) -> GeneratorSpec:
    if direction is None:
        if len(specs) == 1:
            return specs[0]
        directions = [s.direction for s in specs]
        if "a2b" in directions:
            return specs[directions.index("a2b")]
        raise WeightsError(f"{path}: holds generators for {directions}; choose one with --direction")
    for spec in specs:
        if spec.direction == direction:
            return spec
    raise WeightsError(
        f"{path}: no generator for direction {direction!r} (has {[s.direction for s in specs]})"
    )
