"""Import generators trained with the reference pytorch-CycleGAN-and-pix2pix code (``latest_net_G.pth``).

The reference saves a plain ``state_dict`` of its ``ResnetGenerator`` / ``UnetGenerator``. Our networks
have the same layers in the same order under different names, so the import pairs the parametrised
layers of both in order and checks every shape, rather than keeping a table of key renames.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor, nn

from i2i.nn import create_generator

_RUNNING_STATS = frozenset({"running_mean", "running_var", "num_batches_tracked"})


def _strip_module_prefix(state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Drop the ``module.`` prefix that ``DataParallel`` puts on every key."""
    return {k.removeprefix("module."): v for k, v in state_dict.items()}


def _group_by_layer(state_dict: Mapping[str, Tensor]) -> list[tuple[str, dict[str, Tensor]]]:
    """``[(layer prefix, {leaf name: tensor})]`` in the order of the state dict."""
    groups: dict[str, dict[str, Tensor]] = {}
    for key, value in state_dict.items():
        prefix, _, leaf = key.rpartition(".")
        groups.setdefault(prefix, {})[leaf] = value
    return list(groups.items())


def _is_stats_only(leaves: Mapping[str, Tensor]) -> bool:
    """A layer that holds running statistics but no weight: an InstanceNorm of an old PyTorch version."""
    return set(leaves) <= _RUNNING_STATS


def _join(prefix: str, leaf: str) -> str:
    return f"{prefix}.{leaf}" if prefix else leaf


def convert_reference_state_dict(state_dict: Mapping[str, Tensor], model: nn.Module) -> dict[str, Tensor]:
    """Map a reference generator's state dict onto ``model``'s keys by structure.

    The parametrised layers of both are paired in order; each pair must hold the same entries
    (weight, bias, running statistics) with the same shapes. Running statistics of InstanceNorm layers,
    which older PyTorch versions saved although the layer does not use them, are dropped; a ``module.``
    prefix (``DataParallel``) is removed; a missing ``num_batches_tracked`` (very old files) becomes 0.

    Args:
        state_dict: The reference checkpoint, as loaded by ``torch.load``.
        model: The network to load into, built with the matching architecture and options.

    Returns:
        A state dict for ``model.load_state_dict`` (strict).

    Raises:
        ValueError: when the layers do not pair up (wrong architecture, channels or norm), naming the keys
            and shapes involved.
    """
    name = str(getattr(model, "name", type(model).__name__))
    theirs = [
        (prefix, leaves)
        for prefix, leaves in _group_by_layer(_strip_module_prefix(state_dict))
        if not _is_stats_only(leaves)
    ]
    ours = _group_by_layer(model.state_dict())
    if len(theirs) != len(ours):
        raise ValueError(
            f"the checkpoint has {len(theirs)} parametrised layers but {name} has {len(ours)}: "
            "is it another architecture or norm?"
        )
    converted: dict[str, Tensor] = {}
    for (their_prefix, their_leaves), (our_prefix, our_leaves) in zip(theirs, ours, strict=True):
        if "num_batches_tracked" in our_leaves and "num_batches_tracked" not in their_leaves:
            their_leaves = {**their_leaves, "num_batches_tracked": torch.tensor(0, dtype=torch.long)}
        if set(their_leaves) != set(our_leaves):
            raise ValueError(
                f"checkpoint layer {their_prefix!r} holds {sorted(their_leaves)} but layer {our_prefix!r} "
                f"of {name} holds {sorted(our_leaves)}: is it another architecture or norm?"
            )
        for leaf, ours_tensor in our_leaves.items():
            their_tensor = their_leaves[leaf]
            if their_tensor.shape != ours_tensor.shape:
                raise ValueError(
                    f"checkpoint key {_join(their_prefix, leaf)!r} has shape {tuple(their_tensor.shape)} but "
                    f"{name} key {_join(our_prefix, leaf)!r} has shape {tuple(ours_tensor.shape)}: check "
                    "the architecture and in/out/base channels"
                )
            converted[_join(our_prefix, leaf)] = their_tensor
    return converted


def infer_base_channels(state_dict: Mapping[str, Tensor]) -> int:
    """The reference's ``ngf``: the output channels of the first convolution in the checkpoint."""
    for value in state_dict.values():
        if value.dim() == 4:
            return int(value.shape[0])
    raise ValueError("the checkpoint holds no convolution weight: is it a generator state dict?")


def infer_norm(state_dict: Mapping[str, Tensor]) -> str:
    """``"batch"`` when some layer holds both a weight and running statistics (BatchNorm), else ``"instance"``."""
    for _, leaves in _group_by_layer(_strip_module_prefix(state_dict)):
        if "running_mean" in leaves and "weight" in leaves:
            return "batch"
    return "instance"


def read_reference_state_dict(path: str | Path) -> dict[str, Tensor]:
    """The tensors of a reference checkpoint (``latest_net_G.pth``), ``module.`` prefixes removed.

    Loaded with ``weights_only=True``: nothing but tensors is ever unpickled.

    Raises:
        ValueError: A damaged file or one that is not a state dict of tensors, naming ``path``.
    """
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # EOFError, UnpicklingError, RuntimeError (zip) ... for damaged files
        # torch's own message suggests weights_only=False, which would run code from the file: never
        raise ValueError(
            f"{path}: not a readable PyTorch checkpoint ({type(error).__name__}); i2i loads only tensors "
            "(weights_only) and never unpickles other objects"
        ) from None
    if not isinstance(loaded, Mapping) or not all(isinstance(v, Tensor) for v in loaded.values()):
        raise ValueError(f"{path}: not a state dict of tensors (a reference latest_net_G.pth file)")
    return _strip_module_prefix(loaded)


def load_reference_generator(
    path: str | Path,
    arch: str,
    *,
    in_channels: int = 3,
    out_channels: int = 3,
    base_channels: int | None = None,
    norm: str | None = None,
    dropout: float = 0.0,
) -> nn.Module:
    """Build generator ``arch`` and load a reference ``latest_net_G.pth`` into it.

    Args:
        path: The reference checkpoint (a plain state dict saved with ``torch.save``).
        arch: Registered generator name: ``resnet_9blocks``, ``resnet_6blocks``, ``unet_256``, ``unet_128``
            (the reference's ``--netG``).
        in_channels: Image channels in (the reference's ``--input_nc``).
        out_channels: Image channels out (``--output_nc``).
        base_channels: The reference's ``--ngf``; ``None`` reads it from the first convolution.
        norm: ``"batch"`` or ``"instance"`` (``--norm``); ``None`` infers it from the stored tensors.
        dropout: Dropout probability (no parameters; only matters in train mode).

    Returns:
        The generator with the checkpoint's weights, in eval mode.

    Raises:
        KeyError: for an unknown ``arch``.
        ValueError: when the checkpoint does not fit ``arch`` (see :func:`convert_reference_state_dict`).
    """
    state_dict = read_reference_state_dict(path)
    model = create_generator(
        arch,
        in_channels=in_channels,
        out_channels=out_channels,
        base_channels=infer_base_channels(state_dict) if base_channels is None else base_channels,
        norm=infer_norm(state_dict) if norm is None else norm,
        dropout=dropout,
    )
    try:
        converted = convert_reference_state_dict(state_dict, model)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    model.load_state_dict(converted)
    return model.eval()
