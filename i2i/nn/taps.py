"""Feature taps: a generator's intermediate features by layer name (named layers in, features out).

A method that compares a generator's inner features (CUT's PatchNCE loss; feature distillation) asks
the generator for them by name instead of reaching into its modules. A generator offers taps by
implementing the three members of :class:`FeatureTaps`; :func:`feature_taps` returns it ready to use,
or raises a one-line error naming the method and the generator.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from torch import Tensor, nn

from i2i.nn.registries import GENERATORS

__all__ = ["FeatureTaps", "check_tap_names", "feature_taps", "generators_with_taps", "has_taps"]


@runtime_checkable
class FeatureTaps(Protocol):
    """What a generator with feature taps implements.

    ``tap_names`` lists its layers in forward order; ``tap_channels(layers)`` gives the channels of
    each named layer's feature (known before any forward pass, so heads over the features can be
    built up front); ``forward_taps(x, layers)`` runs the network on ``x`` as far as the last named
    layer and returns each named layer's feature, in the order of ``layers``;
    ``forward_with_taps(x, layers)`` runs the whole network once and returns its output with them
    (feature distillation needs both).

    Shape (``forward_taps``):
        - x: :math:`(B, C_{in}, H, W)` in [-1, 1], as the generator's forward takes it.
        - output: one :math:`(B, C_k, H_k, W_k)` tensor per named layer.
    """

    @property
    def tap_names(self) -> tuple[str, ...]: ...

    def tap_channels(self, layers: Sequence[str]) -> list[int]: ...

    def forward_taps(self, x: Tensor, layers: Sequence[str]) -> list[Tensor]: ...

    def forward_with_taps(self, x: Tensor, layers: Sequence[str]) -> tuple[Tensor, list[Tensor]]: ...


def has_taps(network: object) -> bool:
    """Whether ``network`` (a module or a module class) implements :class:`FeatureTaps`."""
    members = ("tap_names", "tap_channels", "forward_taps", "forward_with_taps")
    return all(hasattr(network, name) for name in members)


def generators_with_taps() -> list[str]:
    """The registered generator names whose networks have feature taps (read from the builders'
    return annotations, without building anything)."""
    from typing import get_type_hints

    return [
        name for name in GENERATORS.names() if has_taps(get_type_hints(GENERATORS.get(name)).get("return"))
    ]


def feature_taps(network: nn.Module, *, method: str, name: str) -> FeatureTaps:
    """``network`` as a :class:`FeatureTaps`; a DDP wrapper is looked through (``.module``).

    Args:
        network: The generator (possibly wrapped in ``DistributedDataParallel``).
        method: Who needs the taps, for the error message (``"cut"``).
        name: The generator's registered name, for the error message.

    Raises:
        ValueError: ``"cut: generator 'unet_256' has no feature taps (generators with taps: ...)"``.

    Example:
        >>> from i2i.nn import create_generator
        >>> g = create_generator("resnet_6blocks", base_channels=2)
        >>> feature_taps(g, method="cut", name="resnet_6blocks").tap_names[:4]
        ('input', 'stem', 'down1', 'down2')
    """
    inner = getattr(network, "module", network)  # DistributedDataParallel keeps the network as .module
    if not has_taps(inner):
        raise ValueError(
            f"{method}: generator {name!r} has no feature taps "
            f"(generators with taps: {', '.join(generators_with_taps())})"
        )
    return inner  # type: ignore[return-value]


def check_tap_names(taps: FeatureTaps, layers: Sequence[str], name: str) -> None:
    """Raise a ValueError naming the generator when a layer of ``layers`` is not one of its taps."""
    unknown = [layer for layer in layers if layer not in taps.tap_names]
    if unknown:
        raise ValueError(
            f"generator {name!r} has no layer {unknown[0]!r} (its layers: {', '.join(taps.tap_names)})"
        )
