"""StarGAN generator: one image-to-image network for every target domain (Choi et al. 2018)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from i2i.nn.blocks import ResnetBlock
from i2i.nn.generators._checks import check_size
from i2i.nn.init import init_weights
from i2i.nn.norms import NormFactory, conv_bias, get_norm
from i2i.nn.registries import GENERATORS


def domain_one_hot(domain: Tensor, num_domains: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """``(B,)`` domain indices -> ``(B, D)`` one-hot; a ``(B, D)`` float tensor is returned as ``dtype``.

    Written as a comparison with ``arange`` (not ``F.one_hot``) so it exports to ONNX as Equal + Cast.

    Example:
        >>> domain_one_hot(torch.tensor([2, 0]), 3)
        tensor([[0., 0., 1.],
                [1., 0., 0.]])
    """
    if domain.dim() == 2:
        if domain.shape[1] != num_domains:
            raise ValueError(f"one-hot domains must have {num_domains} columns, got {tuple(domain.shape)}")
        return domain.to(dtype)
    if domain.dim() != 1:
        raise ValueError(
            f"domain must be (B,) indices or (B, {num_domains}) one-hot, got {tuple(domain.shape)}"
        )
    return (domain[:, None] == torch.arange(num_domains, device=domain.device)).to(dtype)


class StarGANGenerator(nn.Module):
    """StarGAN's generator ``G(x, c)``: the image plus the target domain as constant one-hot channels.

    The one-hot target domain ``c`` is broadcast to ``D`` constant maps and concatenated to the image,
    so one network translates into every domain. Layers as in the paper (appendix, table 4): a 7x7
    convolution, two stride-2 4x4 convolutions, ``num_blocks`` residual blocks, two stride-2 4x4
    transposed convolutions and a 7x7 convolution with tanh; instance norm and ReLU in between.

    Every convolution zero-pads, as in the paper, and that matters: instance norm removes a constant
    from every channel, so a constant domain map only survives the first convolution + norm through
    the border, where zero padding makes its response vary. With reflect padding (the CycleGAN
    generator's stem) the domain input would be erased exactly.

    Args:
        in_channels: Image channels in.
        out_channels: Image channels out.
        num_domains: Number of domains ``D``.
        base_channels: Channels of the first convolution (64 in the paper).
        num_blocks: Residual blocks (6 in the paper).
        norm: Normalisation (``"instance"`` in the paper).
        dropout: Dropout in the residual blocks.
        init: Weight init.
        init_gain: Gain of the weight init.

    Shape:
        - x: :math:`(B, C_{in}, H, W)` in [-1, 1], ``H`` and ``W`` multiples of 4.
        - domain: :math:`(B,)` int64 target domain indices, or :math:`(B, D)` one-hot.
        - Output: :math:`(B, C_{out}, H, W)` in [-1, 1].

    Example:
        >>> g = StarGANGenerator(num_domains=3, base_channels=4, num_blocks=1)
        >>> g(torch.zeros(2, 3, 16, 16), torch.tensor([0, 2])).shape
        torch.Size([2, 3, 16, 16])
    """

    size_multiple: int = 4
    input_kind: str = "image+domain"  # what the model card records: an image and a target domain
    name: str = "stargan"

    def __init__(
        self,
        *,
        in_channels: int = 3,
        out_channels: int = 3,
        num_domains: int = 2,
        base_channels: int = 64,
        num_blocks: int = 6,
        norm: str | NormFactory = "instance",
        dropout: float = 0.0,
        init: str = "normal",
        init_gain: float = 0.02,
    ) -> None:
        super().__init__()
        if num_domains < 2:
            raise ValueError(f"stargan needs at least 2 domains, got {num_domains}")
        self.num_domains = num_domains
        norm_layer = get_norm(norm)
        bias = conv_bias(norm_layer)
        c = base_channels
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels + num_domains, c, 7, stride=1, padding=3, bias=bias),
            norm_layer(c),
            nn.ReLU(True),
        ]
        for mult in (1, 2):  # down-sampling
            layers += [
                nn.Conv2d(c * mult, c * mult * 2, 4, stride=2, padding=1, bias=bias),
                norm_layer(c * mult * 2),
                nn.ReLU(True),
            ]
        layers += [
            ResnetBlock(c * 4, norm=norm_layer, padding="zero", dropout=dropout) for _ in range(num_blocks)
        ]
        for mult in (4, 2):  # up-sampling
            layers += [
                nn.ConvTranspose2d(c * mult, c * mult // 2, 4, stride=2, padding=1, bias=bias),
                norm_layer(c * mult // 2),
                nn.ReLU(True),
            ]
        layers += [nn.Conv2d(c, out_channels, 7, stride=1, padding=3, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_weights(self, init, init_gain)

    def forward(self, x: Tensor, domain: Tensor) -> Tensor:
        check_size(x, self.name, self.size_multiple)
        c = domain_one_hot(domain, self.num_domains, x.dtype)  # (B, D)
        maps = c[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])  # (B, D, H, W)
        return self.net(torch.cat([x, maps], dim=1))


@GENERATORS.register
def stargan(**kwargs: Any) -> StarGANGenerator:
    """StarGAN generator: 6 residual blocks, target domain as one-hot input channels (stargan)."""
    return StarGANGenerator(**kwargs)
