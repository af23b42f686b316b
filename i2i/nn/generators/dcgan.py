"""DCGAN generator with a class embedding: noise + label -> image (Radford et al. 2016, Mirza & Osindero 2014)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from i2i.nn.init import init_weights
from i2i.nn.norms import NormFactory, conv_bias, get_norm
from i2i.nn.registries import GENERATORS


def upsampling_steps(image_size: int, name: str) -> int:
    """Stride-2 steps from 4x4 to ``image_size`` (``image_size = 4 * 2**steps``, at least one step).

    Example:
        >>> upsampling_steps(32, "dcgan"), upsampling_steps(64, "dcgan")
        (3, 4)
    """
    steps = max(image_size // 4, 1).bit_length() - 1
    if image_size < 8 or image_size != 4 * 2**steps:
        raise ValueError(f"{name} needs an image size of 4 * 2**k (8, 16, 32, 64 ...), got {image_size}")
    return steps


class DCGANGenerator(nn.Module):
    """Class-conditional DCGAN generator: transposed convolutions, batch norm, ReLU, tanh.

    The label enters through a learned embedding concatenated to the noise (the conditional GAN of
    Mirza & Osindero, with DCGAN's all-convolutional generator): ``[z, embed(y)]`` is projected to a
    4x4 map of ``base_channels * 2**(k-1)`` channels by a 4x4 transposed convolution, then ``k``
    stride-2 4x4 transposed convolutions double the size and halve the channels until
    ``image_size = 4 * 2**k``; every layer but the last has batch norm and ReLU, the last has tanh.

    Args:
        latent_dim: Size of the noise vector ``z`` (100 in DCGAN).
        num_classes: Number of labels.
        embedding_dim: Size of the label embedding (default: ``num_classes``).
        out_channels: Image channels (1 for MNIST, 3 for RGB).
        image_size: Output height and width, ``4 * 2**k``.
        base_channels: Channels of the last hidden layer (DCGAN's ``ngf``); doubled per layer towards z.
        norm: ``"batch"`` (DCGAN), ``"instance"``, ``"none"`` or a callable ``channels -> nn.Module``.
        dropout: Dropout after each hidden layer (0 disables, as in DCGAN).
        init: Weight init, see :func:`i2i.nn.init.init_weights` (DCGAN: normal, 0.02).
        init_gain: Gain of the weight init.

    Shape:
        - z: :math:`(B, \\text{latent\\_dim})`; labels: :math:`(B,)` int64 in ``[0, num_classes)``.
        - Output: :math:`(B, C_{out}, S, S)` in [-1, 1], ``S = image_size``.

    Example:
        >>> g = DCGANGenerator(latent_dim=8, num_classes=10, out_channels=1, image_size=16, base_channels=4)
        >>> g(torch.randn(2, 8), torch.tensor([3, 7])).shape
        torch.Size([2, 1, 16, 16])
    """

    input_kind: str = "noise+label"  # what the model card records: it draws images, it translates none

    def __init__(
        self,
        *,
        latent_dim: int = 100,
        num_classes: int = 10,
        embedding_dim: int | None = None,
        out_channels: int = 3,
        image_size: int = 64,
        base_channels: int = 64,
        norm: str | NormFactory = "batch",
        dropout: float = 0.0,
        init: str = "normal",
        init_gain: float = 0.02,
    ) -> None:
        super().__init__()
        if num_classes < 1 or latent_dim < 1:
            raise ValueError(
                f"dcgan needs num_classes >= 1 and latent_dim >= 1, got {num_classes}, {latent_dim}"
            )
        steps = upsampling_steps(image_size, "dcgan")
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.image_size = image_size
        self.out_channels = out_channels
        embedding_dim = embedding_dim or num_classes
        norm_layer = get_norm(norm)
        bias = conv_bias(norm_layer)
        self.embedding = nn.Embedding(num_classes, embedding_dim)
        channels = base_channels * 2 ** (steps - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim + embedding_dim, channels, 4, stride=1, padding=0, bias=bias),
            norm_layer(channels),
            nn.ReLU(True),
        ]
        for _ in range(steps - 1):
            layers += [
                *([nn.Dropout(dropout)] if dropout > 0 else []),
                nn.ConvTranspose2d(channels, channels // 2, 4, stride=2, padding=1, bias=bias),
                norm_layer(channels // 2),
                nn.ReLU(True),
            ]
            channels //= 2
        layers += [nn.ConvTranspose2d(channels, out_channels, 4, stride=2, padding=1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_weights(self, init, init_gain)
        nn.init.normal_(self.embedding.weight, 0.0, 1.0)  # same scale as the noise it sits beside

    def forward(self, z: Tensor, labels: Tensor) -> Tensor:
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"dcgan expects noise of shape (B, {self.latent_dim}), got {tuple(z.shape)}")
        code = torch.cat([z, self.embedding(labels)], dim=1)  # (B, latent + embedding)
        return self.net(code[:, :, None, None])  # (B, C, S, S)

    def sample_noise(self, batch: int, *, generator: torch.Generator | None = None) -> Tensor:
        """Standard normal noise ``(batch, latent_dim)`` on this network's device."""
        device = self.embedding.weight.device
        return torch.randn(batch, self.latent_dim, generator=generator, device=device)


@GENERATORS.register
def dcgan(**kwargs: Any) -> DCGANGenerator:
    """Class-conditional DCGAN generator: noise + label embedding -> image (cgan)."""
    return DCGANGenerator(**kwargs)
