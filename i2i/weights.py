"""Weight files that carry their own model card.

A weights file is a safetensors file with the tensors of one or more networks, keys prefixed by the
network's name (``g_ab.``, ``discriminator.`` ...), and a JSON header entry with the
:class:`~i2i.card.ModelCard` of each *generator* in it: architecture, constructor arguments, input
kind, direction, method, training crop size and the resolved recipe. That is all
:func:`load_generator` (and so ``i2i export`` / ``i2i translate``) needs. Run directories and their
checkpoints are laid out by :class:`~i2i.run_dir.RunDir`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import Tensor, nn

from i2i import __version__
from i2i.card import CardError, ModelCard
from i2i.files import atomic_path
from i2i.run_dir import WEIGHTS_FILE, RunDir

_CARDS_KEY = "i2i.generators"
_FORMAT_KEY = "i2i.format"
_FORMAT = "1"


class WeightsError(ValueError):
    """A weights file, checkpoint or run directory that cannot be used; the message names the path."""


def save_weights(
    path: Path,
    tensors: Mapping[str, Tensor],
    generators: Sequence[ModelCard] = (),
    metadata: Mapping[str, str] | None = None,
) -> None:
    """Write ``tensors`` and the generator descriptions to a safetensors file, atomically.

    Args:
        path: Destination ``.safetensors`` file.
        tensors: Name -> tensor; non-contiguous or shared tensors are copied.
        generators: Descriptions of the generators whose tensors are in ``tensors`` (by ``key_prefix``).
        metadata: Extra string metadata for the header.
    """
    for card in generators:
        if card.key_prefix and not any(k.startswith(card.key_prefix) for k in tensors):
            raise WeightsError(f"{path}: no tensor starts with the generator prefix {card.key_prefix!r}")
    header = {
        **(metadata or {}),
        _FORMAT_KEY: _FORMAT,
        "i2i.version": __version__,
        _CARDS_KEY: json.dumps([card.to_json() for card in generators]),
    }
    plain = {name: t.detach().to("cpu").contiguous().clone() for name, t in tensors.items()}
    with atomic_path(Path(path)) as tmp:
        save_file(plain, str(tmp), metadata=header)


def read_metadata(path: Path) -> dict[str, str]:
    """The string metadata of a safetensors file; a PyTorch checkpoint gets a message saying what to do."""
    if _is_pytorch_file(path):
        raise WeightsError(
            f"{path}: a PyTorch checkpoint, not i2i weights; for a reference pix2pix/CycleGAN generator run "
            f"`i2i import-reference {path} --arch NAME --out model.safetensors` (NAME: its --netG, e.g. "
            "resnet_9blocks, unet_256) and use model.safetensors; `i2i export` reads it with --arch NAME"
        )
    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except Exception as error:  # safetensors raises its own error types for damaged files
        raise WeightsError(f"{path}: not a readable safetensors file ({error})") from error


def _is_pytorch_file(path: Path) -> bool:
    """``torch.save`` output: a zip archive (PyTorch 1.6+) or a bare pickle (older files)."""
    try:
        with open(path, "rb") as file:
            start = file.read(4)
    except OSError:
        return False  # safetensors reports it
    return start == b"PK\x03\x04" or (len(start) >= 2 and start[0] == 0x80 and 2 <= start[1] <= 5)


def read_model_cards(path: Path) -> list[ModelCard]:
    """The model cards of the generators stored in a weights file (empty for a file i2i did not write)."""
    raw = read_metadata(path).get(_CARDS_KEY)
    if raw is None:
        return []
    try:
        items = json.loads(raw)
        if not isinstance(items, list):
            raise ValueError("not a list")
        return [ModelCard.from_json(item, source=path) for item in items]
    except CardError as error:
        raise WeightsError(str(error)) from None
    except ValueError as error:
        raise WeightsError(f"{path}: unreadable generator descriptions in the header ({error})") from None


def resolve_weights_file(source: Path) -> Path:
    """The weights file behind a ``.safetensors`` file, a checkpoint directory or a run directory."""
    source = Path(source)
    if source.is_file():
        return source
    if not source.exists():
        raise WeightsError(f"{source}: no such file or directory")
    if (source / WEIGHTS_FILE).is_file():
        return source / WEIGHTS_FILE
    checkpoint = RunDir(source).latest_checkpoint()
    if checkpoint is None:
        raise WeightsError(
            f"{source}: not a weights file, a checkpoint directory or a run directory with checkpoints"
        )
    return checkpoint / WEIGHTS_FILE


def load_generator(
    source: Path, direction: str | None = None, device: str | torch.device = "cpu"
) -> tuple[nn.Module, ModelCard]:
    """Rebuild a trained generator, in eval mode, with the description it was saved with.

    Args:
        source: A ``.safetensors`` weights file, a checkpoint directory or a run directory.
        direction: ``"a2b"`` or ``"b2a"``; required only when the file holds generators for both.
        device: Where to put the network.

    Returns:
        ``(generator, card)``; the generator maps ``(B, C_in, H, W)`` in ``card.value_range`` to
        ``(B, C_out, H, W)`` in the same range.
    """
    path = resolve_weights_file(Path(source))
    cards = read_model_cards(path)
    if not cards:
        raise WeightsError(
            f"{path}: holds no i2i generator description; for a reference pix2pix/CycleGAN .pth file use "
            "`i2i import-reference FILE --arch NAME --out model.safetensors` first"
        )
    card = _pick_direction(path, cards, direction)
    _check_header_against_tensors(path, card)  # before anything real is built
    model = card.build()
    card = card.completed_by(model)  # headers older than the card lack size_multiple and input_kind
    tensors: dict[str, Tensor] = {}
    with safe_open(str(path), framework="pt", device="cpu") as f:
        for key in f.keys():  # noqa: SIM118 - safe_open is not a mapping
            if key.startswith(card.key_prefix):
                tensors[key[len(card.key_prefix) :]] = f.get_tensor(key)
    model.load_state_dict(tensors)  # names and shapes were checked against the header above
    return model.to(device).eval(), card


def _check_header_against_tensors(path: Path, card: ModelCard) -> None:
    """Compare the network the header describes with the tensors the file holds, names and shapes,
    without allocating it: the network is built on the ``meta`` device. A crafted header (say
    ``base_channels: 4096``, gigabytes per layer) is refused here instead of being built."""
    try:
        with torch.device("meta"):
            skeleton = card.build()
    except (TypeError, ValueError, KeyError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        raise WeightsError(f"{path}: the header describes no buildable generator ({message})") from None
    expected = {name: tuple(t.shape) for name, t in skeleton.state_dict().items()}
    with safe_open(str(path), framework="pt", device="cpu") as f:
        stored = {
            key[len(card.key_prefix) :]: tuple(f.get_slice(key).get_shape())
            for key in f.keys()  # noqa: SIM118 - safe_open is not a mapping
            if key.startswith(card.key_prefix)
        }
    if expected != stored:
        differing = sorted(k for k in expected.keys() | stored.keys() if expected.get(k) != stored.get(k))
        shown = ", ".join(f"{k}: header {expected.get(k)}, file {stored.get(k)}" for k in differing[:3])
        raise WeightsError(
            f"{path}: generator {card.arch!r} (prefix {card.key_prefix!r}) does not match the stored "
            f"tensors ({len(differing)} differ; {shown})"
        )


def _pick_direction(path: Path, cards: Sequence[ModelCard], direction: str | None) -> ModelCard:
    if direction is None:
        if len(cards) == 1:
            return cards[0]
        directions = [s.direction for s in cards]
        if "a2b" in directions:
            return cards[directions.index("a2b")]
        raise WeightsError(f"{path}: holds generators for {directions}; choose one with --direction")
    for card in cards:
        if card.direction == direction:
            return card
    raise WeightsError(
        f"{path}: no generator for direction {direction!r} (has {[s.direction for s in cards]})"
    )
