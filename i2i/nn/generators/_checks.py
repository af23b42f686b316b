"""Input checks shared by the generators."""

from __future__ import annotations

import torch
from torch import Tensor


def check_size(x: Tensor, name: str, multiple: int) -> None:
    """Raise a ValueError naming the network when the height or width of ``x`` is not a multiple.

    Skipped while tracing, compiling or exporting, where shapes may be symbolic.
    """
    if torch.jit.is_tracing() or torch.jit.is_scripting() or torch.compiler.is_compiling():
        return
    if x.dim() != 4:
        raise ValueError(f"{name} expects a (B, C, H, W) batch, got shape {tuple(x.shape)}")
    height, width = x.shape[-2:]
    if height % multiple or width % multiple:
        raise ValueError(
            f"{name} needs height and width that are multiples of {multiple}, got {height}x{width}"
        )
