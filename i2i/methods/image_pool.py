"""A history of generated images for the discriminator (Shrivastava et al. 2017; CycleGAN section 4).

Feeding the discriminator a mix of current and earlier fakes reduces model oscillation. Same
behaviour as the reference ``util/image_pool.py``, with its randomness drawn from an own
``torch.Generator`` so that the pool, saved in a checkpoint, resumes exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

__all__ = ["ImagePool"]


class ImagePool:
    """Buffer of up to ``pool_size`` generated images.

    :meth:`query` takes a batch of fakes and returns a batch of the same size: while the pool is not
    full each image is stored and returned as is; once full, each image is, with probability 1/2,
    swapped for a uniformly chosen stored image (which is returned, the new one taking its place),
    and otherwise returned as is. ``pool_size=0`` returns the input unchanged.

    Args:
        pool_size: Number of images kept (50 in CycleGAN); 0 disables the pool.
        seed: Seed of the pool's own random generator.

    Shape:
        - query input: :math:`(B, C, H, W)`; output: the same, detached.

    Example:
        >>> pool = ImagePool(2, seed=0)
        >>> out = pool.query(torch.zeros(2, 1, 1, 1))  # fills the pool, returns the inputs
        >>> out.flatten().tolist(), len(pool)
        ([0.0, 0.0], 2)
    """

    def __init__(self, pool_size: int, *, seed: int = 0) -> None:
        if pool_size < 0:
            raise ValueError(f"pool_size must be >= 0, got {pool_size}")
        self.pool_size = pool_size
        self.images: list[Tensor] = []  # each (1, C, H, W), detached
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.images)

    def query(self, images: Tensor) -> Tensor:
        """Return a batch for the discriminator, mixing ``images`` with stored ones (see the class)."""
        images = images.detach()
        if self.pool_size == 0:
            return images
        returned: list[Tensor] = []
        for image in images.split(1):  # (1, C, H, W) each
            if len(self.images) < self.pool_size:
                self.images.append(image.clone())
                returned.append(image)
            elif torch.rand((), generator=self.generator).item() > 0.5:
                index = int(torch.randint(self.pool_size, (), generator=self.generator).item())
                returned.append(self.images[index].to(image.device))
                self.images[index] = image.clone()
            else:
                returned.append(image)
        return torch.cat(returned)

    def state_dict(self) -> dict[str, Any]:
        """The stored images (on the CPU) and the generator state; ``torch.load(weights_only=True)``-safe."""
        return {
            "pool_size": self.pool_size,
            "images": [image.cpu() for image in self.images],
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (images move to the query device on use)."""
        if int(state["pool_size"]) != self.pool_size:
            raise ValueError(
                f"pool state of size {state['pool_size']} does not fit a pool of {self.pool_size}"
            )
        self.images = [image.clone() for image in state["images"]]
        self.generator.set_state(state["generator"])
