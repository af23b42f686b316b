"""Shared pieces of the datasets: per-item seeds, the epoch, the transform built from a :class:`Geometry`."""

from __future__ import annotations

import zlib

import numpy as np
from torch.utils.data import Dataset

from i2i.data.geometry import Direction, Geometry
from i2i.data.transforms import PairedTransform

__all__ = ["Direction", "I2IDataset", "item_seed"]

_STREAM_AUGMENT = 0
_STREAM_PARTNER = 1


def item_seed(*keys: int | str) -> int:
    """A 32-bit seed that depends only on ``keys`` (stable across processes; strings hashed with CRC32)."""
    words = [zlib.crc32(k.encode()) if isinstance(k, str) else int(k) for k in keys]
    return int(np.random.SeedSequence(words).generate_state(1)[0])


class I2IDataset(Dataset[dict[str, object]]):
    """Base of every i2i dataset: holds the :class:`Geometry`, its transform and the epoch.

    Randomness (crop, flip, the unaligned partner image) is a pure function of ``(seed, epoch, index)``,
    so results do not depend on worker count or order. Call :meth:`set_epoch` at the start of every
    epoch (as with ``DistributedSampler``) to draw new crops and partners; without it every epoch sees
    the draws of epoch 0. With ``DataLoader(persistent_workers=True)`` the workers keep the copy made
    when they started and never see a later ``set_epoch``; use non-persistent workers (the default).
    """

    def __init__(self, geometry: Geometry) -> None:
        self.geometry = geometry
        self.train = geometry.train
        self.direction: Direction = geometry.direction
        self.in_channels = geometry.in_channels
        self.out_channels = geometry.out_channels
        self.seed = geometry.seed
        self.epoch = 0
        self.transform = PairedTransform(
            preprocess=geometry.preprocess,
            load_size=geometry.load_size,
            crop_size=geometry.crop_size,
            flip=geometry.flip,
            train=geometry.train,
            size_multiple=geometry.size_multiple,
        )

    def set_epoch(self, epoch: int) -> None:
        """Select the random draws of ``epoch`` (crops, flips, unaligned partners)."""
        self.epoch = int(epoch)

    def augment_seed(self, index: int) -> int:
        """Seed of item ``index``'s crop / flip in the current epoch (fixed in eval mode)."""
        return item_seed(self.seed, self.epoch if self.train else 0, index, _STREAM_AUGMENT)

    def partner_rng(self, index: int) -> np.random.Generator:
        """Generator for item ``index``'s partner choice (unaligned data) in the current epoch."""
        return np.random.default_rng(item_seed(self.seed, self.epoch, index, _STREAM_PARTNER))

    def __len__(self) -> int:
        raise NotImplementedError
