"""Fine-tuning: start a new run's networks from existing weights (``model.init_from``, ``--init-from``).

The source may be

- an i2i run directory, checkpoint directory or ``.safetensors`` weights file: every network of the
  method whose name prefixes tensors in the file (``generator.``, ``discriminator.``, ``g_ab.`` ...) is
  loaded, discriminators included when the file has them (a run's checkpoint does); a file of another
  method (a pix2pix run into a CycleGAN recipe) or one generator alone (``i2i import-reference``, ``i2i
  pretrained download``) is matched by its model cards' directions;
- a reference pytorch-CycleGAN-and-pix2pix ``latest_net_G.pth``: it initialises the method's first
  (a->b) generator, its layers paired with the recipe's architecture by
  :func:`i2i.export.reference.convert_reference_state_dict`.

The recipe's architecture is checked against the weights first: architecture name and every builder
argument that shapes tensors or their use (channels, base channels, norm, blocks, padding; not dropout
or the initialisation), with one line that names what differs; then every tensor name and shape.
The trainer applies this only when a run starts, never when it resumes, and the source is recorded in
the run's recipe (``model.init_from``), so resuming continues the run instead of re-initialising it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from safetensors.torch import load_file
from torch import Tensor, nn

from i2i.card import ModelCard
from i2i.methods import Method
from i2i.weights import WeightsError, read_model_cards, resolve_weights_file

__all__ = ["InitError", "initialise_from"]

_FREE_KWARGS = frozenset({"dropout", "init", "init_gain"})
"""Builder arguments that neither shape tensors nor change what the weights compute: they may differ."""


class InitError(ValueError):
    """The weights cannot initialise the recipe's networks; the message names the source and the difference."""


def initialise_from(method: Method, source: str | Path) -> str:
    """Load the weights in ``source`` into ``method``'s networks (see the module docstring).

    Args:
        method: A freshly built method (its networks and optimizers as the recipe made them).
        source: A run or checkpoint directory, a ``.safetensors`` file or a reference ``.pth`` file.

    Returns:
        One line for the log: which networks were initialised from where.

    Raises:
        InitError: A missing source, an architecture that differs, or tensors that do not fit.
    """
    source = Path(source).expanduser()
    if not source.exists():
        raise InitError(f"model.init_from: {source}: no such file or directory")
    if source.suffix in (".pth", ".pt"):
        loaded = _from_reference(method, source)
    else:
        try:
            path = resolve_weights_file(source)
            tensors, cards = load_file(str(path)), read_model_cards(path)
        except WeightsError as error:
            raise InitError(f"model.init_from: {error}") from None
        except Exception as error:  # safetensors' own errors for a damaged file
            raise InitError(f"model.init_from: {source}: not a readable weights file ({error})") from None
        loaded = _from_weights(method, source, tensors, cards)
    return f"initialised {', '.join(loaded)} from {source}"


def _from_weights(
    method: Method, source: Path, tensors: Mapping[str, Tensor], cards: list[ModelCard]
) -> list[str]:
    networks = method.networks()
    ours = {card.key_prefix: card for card in method.model_cards()}
    present = [name for name in networks if any(k.startswith(f"{name}.") for k in tensors)]
    if present:  # a file of this method: load every network it has, by name
        theirs = {card.key_prefix: card for card in cards}
        for name in present:
            prefix = f"{name}."
            if prefix in ours and prefix in theirs:
                _check_cards(source, name, ours[prefix], theirs[prefix])
            _load(source, name, networks[name], _with_prefix(tensors, prefix))
        return present
    # another method's file or a lone generator: generators matched by direction; a lone generator of
    # a direction the method lacks (an a2b file for a b2a pix2pix recipe) starts the first generator
    pairs = [(c, m) for c in method.model_cards() for m in cards if m.direction == c.direction]
    if not pairs and len(cards) == 1:
        pairs = [(method.model_cards()[0], cards[0])]
    loaded = []
    for card, match in pairs:
        name = card.key_prefix.removesuffix(".")
        _check_cards(source, name, card, match)
        _load(source, name, networks[name], _with_prefix(tensors, match.key_prefix))
        loaded.append(name)
    if not loaded:
        has = sorted({k.split(".", 1)[0] for k in tensors if "." in k})
        raise InitError(
            f"model.init_from: {source}: holds no weights for this recipe's networks "
            f"({', '.join(networks)}); it has {', '.join(has) or 'no named networks'}"
        )
    return loaded


def _from_reference(method: Method, source: Path) -> list[str]:
    from i2i.export.reference import (
        convert_reference_state_dict,
        infer_base_channels,
        infer_norm,
        read_reference_state_dict,
    )

    try:
        state_dict = read_reference_state_dict(source)
        card = method.model_cards()[0]
        name = card.key_prefix.removesuffix(".")
        found = {"base_channels": infer_base_channels(state_dict), "norm": infer_norm(state_dict)}
        differing = [
            f"{key} {card.kwargs.get(key)} in the recipe, {value} in the weights"
            for key, value in found.items()
            if card.kwargs.get(key) != value
        ]
        if differing:
            raise ValueError(f"the recipe's {name} {card.arch!r} differs: {'; '.join(differing)}")
        network = method.networks()[name]
        network.load_state_dict(convert_reference_state_dict(state_dict, network))
    except ValueError as error:
        raise InitError(f"model.init_from: {source}: {error}") from None
    return [name]


def _check_cards(source: Path, name: str, ours: ModelCard, theirs: ModelCard) -> None:
    """One line naming each architecture setting in which the recipe's network and the weights differ."""
    differing = []
    if ours.arch != theirs.arch:
        differing.append(f"generator {ours.arch} in the recipe, {theirs.arch} in the weights")
    for key in sorted((ours.kwargs.keys() | theirs.kwargs.keys()) - _FREE_KWARGS):
        if ours.kwargs.get(key) != theirs.kwargs.get(key):
            differing.append(
                f"{key} {ours.kwargs.get(key)} in the recipe, {theirs.kwargs.get(key)} in the weights"
            )
    if differing:
        raise InitError(f"model.init_from: {source}: {name} differs: {'; '.join(differing)}")


def _with_prefix(tensors: Mapping[str, Tensor], prefix: str) -> dict[str, Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def _load(source: Path, name: str, network: nn.Module, tensors: Mapping[str, Tensor]) -> None:
    """``load_state_dict`` after naming the first tensor whose name or shape differs."""
    expected = {k: tuple(v.shape) for k, v in network.state_dict().items()}
    stored = {k: tuple(v.shape) for k, v in tensors.items()}
    differing = sorted(k for k in expected.keys() | stored.keys() if expected.get(k) != stored.get(k))
    if differing:
        key = differing[0]
        raise InitError(
            f"model.init_from: {source}: {name} does not fit the weights ({len(differing)} tensors differ; "
            f"{name}.{key}: {expected.get(key)} in the recipe, {stored.get(key)} in the weights)"
        )
    network.load_state_dict(dict(tensors))
