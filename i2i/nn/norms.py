"""Normalisation layers by name: a closed choice, so a plain dict of factories (not a registry)."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

NormFactory = Callable[[int], nn.Module]
"""Builds a normalisation layer for a given number of channels."""


def batch_norm(channels: int) -> nn.Module:
    """Batch norm with a learnable scale and shift and running statistics (pix2pix default)."""
    return nn.BatchNorm2d(channels, affine=True, track_running_stats=True)


def instance_norm(channels: int) -> nn.Module:
    """Instance norm without parameters or running statistics (CycleGAN default)."""
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


def no_norm(channels: int) -> nn.Module:
    """No normalisation."""
    return nn.Identity()


NORMS: dict[str, NormFactory] = {"batch": batch_norm, "instance": instance_norm, "none": no_norm}


def get_norm(norm: str | NormFactory) -> NormFactory:
    """The norm factory for a name in :data:`NORMS`, or ``norm`` itself when it is a callable.

    Args:
        norm: ``"batch"``, ``"instance"``, ``"none"`` or a callable ``channels -> nn.Module``.

    Raises:
        ValueError: for an unknown name.

    Example:
        >>> type(get_norm("batch")(8)).__name__, type(get_norm("none")(8)).__name__
        ('BatchNorm2d', 'Identity')
        >>> get_norm(lambda c: nn.GroupNorm(2, c))(8).num_groups
        2
    """
    if callable(norm):
        return norm
    try:
        return NORMS[norm]
    except KeyError:
        raise ValueError(f"unknown norm {norm!r} (known: {', '.join(NORMS)})") from None


def conv_bias(norm: NormFactory) -> bool:
    """Whether a convolution followed by ``norm`` should carry its own bias.

    A norm with a learnable shift (affine batch norm) makes the bias redundant. This reproduces the
    reference implementation's rule (bias only with instance norm), and gives a bias when there is no norm.

    Example:
        >>> conv_bias(batch_norm), conv_bias(instance_norm), conv_bias(no_norm)
        (False, True, True)
    """
    return getattr(norm(64), "bias", None) is None
