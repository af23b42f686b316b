"""Heads over feature maps: patch sampling and projection as CUT's PatchNCE loss uses them, and the
1x1 channel maps of feature distillation."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from i2i.nn.init import init_weights

__all__ = ["ChannelMaps", "PatchProjection", "sample_locations"]


def sample_locations(height: int, width: int, num: int, *, device: torch.device | str = "cpu") -> Tensor:
    """``min(num, height * width)`` distinct spatial locations, drawn uniformly at random from the
    global torch RNG, as flat indices ``y * width + x``: int64 ``(P,)``.

    Example:
        >>> ids = sample_locations(4, 4, 5)
        >>> ids.shape, bool((ids < 16).all()), len(set(ids.tolist()))
        (torch.Size([5]), True, 5)
    """
    return torch.randperm(height * width, device=device)[:num]


class PatchProjection(nn.Module):
    """One small MLP head per feature layer; samples locations of each feature map and projects the
    features there to unit vectors (CUT's ``H_l``: Linear, ReLU, Linear, L2 normalisation).

    The heads are built from the layer widths up front (not lazily on the first batch), so they are
    ordinary parameters from the start: checkpoints, optimizers and DDP see them like any network.

    Args:
        channels: Channels of each layer's feature map, in layer order.
        out_channels: Width of both linear layers of each head (256 in CUT).
        init: Weight init of the heads (see :func:`i2i.nn.init.init_weights`).
        init_gain: Gain of the init.

    Shape (``forward``):
        - features: one :math:`(B, C_l, H_l, W_l)` map per layer.
        - locations: ``None`` (draw them) or one int64 :math:`(P_l,)` index tensor per layer.
        - output: ``(patches, locations)``: per layer :math:`(B, P_l, D)` unit vectors, ``D = out_channels``,
          with :math:`P_l = \\min(P, H_l W_l)`; and the locations used. Every image of the batch is
          sampled at the same locations.

    Example:
        >>> _ = torch.manual_seed(0)  # a random head may map a patch to zero, which has no unit direction
        >>> heads = PatchProjection([3, 8], out_channels=4)
        >>> patches, ids = heads([torch.randn(2, 3, 8, 8), torch.randn(2, 8, 4, 4)], num_patches=10)
        >>> [tuple(p.shape) for p in patches], [tuple(i.shape) for i in ids]
        ([(2, 10, 4), (2, 10, 4)], [(10,), (10,)])
        >>> same, _ = heads([torch.randn(2, 3, 8, 8), torch.randn(2, 8, 4, 4)], locations=ids)
        >>> round(same[0].detach().norm(dim=-1).mean().item(), 4)
        1.0
    """

    def __init__(
        self,
        channels: Sequence[int],
        *,
        out_channels: int = 256,
        init: str = "normal",
        init_gain: float = 0.02,
    ) -> None:
        super().__init__()
        self.heads = nn.ModuleList(
            nn.Sequential(nn.Linear(c, out_channels), nn.ReLU(), nn.Linear(out_channels, out_channels))
            for c in channels
        )
        init_weights(self, init, init_gain)

    def forward(
        self,
        features: Sequence[Tensor],
        num_patches: int = 256,
        locations: Sequence[Tensor] | None = None,
    ) -> tuple[list[Tensor], list[Tensor]]:
        if len(features) != len(self.heads):
            raise ValueError(f"PatchProjection has {len(self.heads)} heads, got {len(features)} feature maps")
        patches, used = [], []
        for k, (feature, head) in enumerate(zip(features, self.heads, strict=True)):
            h, w = feature.shape[-2:]
            flat = feature.flatten(2).transpose(1, 2)  # (B, H*W, C)
            ids = (
                sample_locations(h, w, num_patches, device=feature.device)
                if locations is None
                else locations[k]
            )
            picked = flat[:, ids, :]  # (B, P, C)
            patches.append(F.normalize(head(picked), dim=-1))  # (B, P, D), unit length
            used.append(ids)
        return patches, used


class ChannelMaps(nn.Module):
    """One learned 1x1 convolution per feature layer, mapping a student's feature widths to a
    teacher's (GAN Compression's feature distillation, Li et al. 2020): the student's features can
    then be compared with the teacher's by MSE, whatever the student's width.

    Args:
        in_channels: The student's channels at each layer, in layer order.
        out_channels: The teacher's channels at the same layers.
        init: Weight init of the maps (see :func:`i2i.nn.init.init_weights`).
        init_gain: Gain of the init.

    Shape (``forward``):
        - features: one :math:`(B, C^{in}_l, H_l, W_l)` map per layer.
        - output: one :math:`(B, C^{out}_l, H_l, W_l)` map per layer.

    Example:
        >>> maps = ChannelMaps([16, 16], [64, 64])
        >>> [tuple(f.shape) for f in maps([torch.zeros(2, 16, 8, 8), torch.zeros(2, 16, 4, 4)])]
        [(2, 64, 8, 8), (2, 64, 4, 4)]
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: Sequence[int],
        *,
        init: str = "normal",
        init_gain: float = 0.02,
    ) -> None:
        super().__init__()
        if len(in_channels) != len(out_channels):
            raise ValueError(
                f"ChannelMaps: {len(in_channels)} student layers but {len(out_channels)} teacher layers"
            )
        self.maps = nn.ModuleList(
            nn.Conv2d(c_in, c_out, kernel_size=1)
            for c_in, c_out in zip(in_channels, out_channels, strict=True)
        )
        init_weights(self, init, init_gain)

    def forward(self, features: Sequence[Tensor]) -> list[Tensor]:
        if len(features) != len(self.maps):
            raise ValueError(f"ChannelMaps has {len(self.maps)} maps, got {len(features)} feature maps")
        return [conv(f) for conv, f in zip(self.maps, features, strict=True)]
