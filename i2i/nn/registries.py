"""The registries of network names a recipe may contain, and their front doors."""

from __future__ import annotations

from typing import Any

from torch import nn

from i2i.registry import Registry

GENERATORS: Registry[nn.Module] = Registry("generator")
DISCRIMINATORS: Registry[nn.Module] = Registry("discriminator")


def create_generator(name: str, **kwargs: Any) -> nn.Module:
    """Build the generator registered as ``name`` (see ``GENERATORS.names()``) with keyword arguments.

    Example:
        >>> import torch
        >>> g = create_generator("resnet_6blocks", base_channels=4)
        >>> g(torch.zeros(1, 3, 16, 16)).shape
        torch.Size([1, 3, 16, 16])
    """
    return GENERATORS.build(name, **kwargs)


def create_discriminator(name: str, **kwargs: Any) -> nn.Module:
    """Build the discriminator registered as ``name`` (see ``DISCRIMINATORS.names()``) with keyword arguments.

    Example:
        >>> import torch
        >>> d = create_discriminator("patchgan", in_channels=6, base_channels=4)
        >>> d(torch.zeros(1, 6, 64, 64)).shape
        torch.Size([1, 1, 6, 6])
    """
    return DISCRIMINATORS.build(name, **kwargs)
