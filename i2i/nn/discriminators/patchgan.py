"""PatchGAN discriminator (Isola et al. 2017): one real/fake logit per overlapping image patch."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from i2i.nn.blocks import apply_spectral_norm
from i2i.nn.init import init_weights
from i2i.nn.norms import NormFactory, conv_bias, get_norm
from i2i.nn.registries import DISCRIMINATORS


def run_stages(stages: nn.ModuleList, x: Tensor) -> list[Tensor]:
    """Run ``stages`` in order and return the output of each (the last one is the logits)."""
    features = []
    for stage in stages:
        x = stage(x)
        features.append(x)
    return features


class PatchGANDiscriminator(nn.Module):
    """``num_layers`` stride-2 4x4 convolutions, one stride-1 convolution, a 1-channel stride-1 head.

    Matches the reference ``NLayerDiscriminator``: channels double per layer up to ``8 * base_channels``,
    no norm on the first layer, LeakyReLU(0.2). Receptive field: 16 px (1 layer), 70 px (3 layers),
    286 px (5 layers).

    Args:
        in_channels: Channels in (pix2pix: input and output image concatenated, e.g. 6).
        base_channels: Channels of the first convolution (the reference's ``ndf``).
        num_layers: Stride-2 convolutions.
        norm: ``"batch"``, ``"instance"``, ``"none"`` or a callable ``channels -> nn.Module``.
        spectral_norm: Put spectral normalisation on every convolution.
        init: Weight init, see :func:`i2i.nn.init.init_weights`.
        init_gain: Gain of the weight init.

    Shape:
        - Input: :math:`(B, C_{in}, H, W)`.
        - Output: :math:`(B, 1, H', W')` raw logits, :math:`H' = H / 2^{L} - 2` for ``H`` a multiple of
          :math:`2^L` (``L = num_layers``): 30x30 for a 256x256 input with 3 layers.

    Example:
        >>> import torch
        >>> d = PatchGANDiscriminator(in_channels=6, base_channels=4)
        >>> d(torch.zeros(2, 6, 64, 64)).shape
        torch.Size([2, 1, 6, 6])
    """

    def __init__(
        self,
        *,
        in_channels: int = 3,
        base_channels: int = 64,
        num_layers: int = 3,
        norm: str | NormFactory = "batch",
        spectral_norm: bool = False,
        init: str = "normal",
        init_gain: float = 0.02,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"PatchGANDiscriminator needs num_layers >= 1, got {num_layers}")
        norm_layer = get_norm(norm)
        bias = conv_bias(norm_layer)
        c = base_channels
        stages: list[nn.Module] = [
            nn.Sequential(nn.Conv2d(in_channels, c, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True))
        ]
        channels = c
        for n in range(1, num_layers + 1):
            stride = 2 if n < num_layers else 1  # the last of these keeps the size
            out = c * min(2**n, 8)
            stages.append(
                nn.Sequential(
                    nn.Conv2d(channels, out, 4, stride=stride, padding=1, bias=bias),
                    norm_layer(out),
                    nn.LeakyReLU(0.2, True),
                )
            )
            channels = out
        stages.append(nn.Conv2d(channels, 1, 4, stride=1, padding=1))
        self.stages = nn.ModuleList(stages)
        init_weights(self, init, init_gain)
        if spectral_norm:
            apply_spectral_norm(self)

    def forward(self, x: Tensor) -> Tensor:
        for stage in self.stages:
            x = stage(x)
        return x

    def forward_features(self, x: Tensor) -> list[Tensor]:
        """The output of every layer (after its activation); the last entry is the logits."""
        return run_stages(self.stages, x)


@DISCRIMINATORS.register
def patchgan(**kwargs: Any) -> PatchGANDiscriminator:
    """PatchGAN discriminator, 3 layers by default (70x70 patches, pix2pix and CycleGAN default)."""
    return PatchGANDiscriminator(**kwargs)
