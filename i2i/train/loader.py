"""A data loader that follows the epoch also in persistent worker processes.

The datasets draw their crops, flips and unaligned partners from ``(seed, epoch, index)`` and learn the
epoch from ``set_epoch``. A ``DataLoader`` with ``persistent_workers=True`` keeps the copy of the dataset
each worker received when it started, so a ``set_epoch`` call in the main process never reaches it and
every epoch would repeat the draws of the first one. Here the epoch travels *with the indices*: the batch
sampler yields ``(epoch, index)`` pairs and :class:`EpochDataset` calls ``set_epoch`` in whichever
process fetches the item, so results are the same with 0 workers, fresh workers or persistent ones.

The data's warnings (an unreadable image skipped, pairs without a partner) are caught where they arise,
in whichever process, travel back with the batch and are shown by the main process once per run
(:class:`DataWarnings`): each worker process and each dataset object would otherwise repeat them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import torch
from torch.utils.data import DataLoader, Dataset, Sampler, default_collate

__all__ = ["DataWarnings", "EpochBatchSampler", "EpochDataset", "EpochLoader"]

EpochIndex = tuple[int, int]
Warned = list[tuple[int, str]]  # (logging level, message)
T = TypeVar("T")

DATA_LOGGER = "i2i.data"


class _Catch(logging.Filter):
    """Keeps the records of a logger instead of letting them through."""

    def __init__(self) -> None:
        super().__init__()
        self.caught: Warned = []

    def filter(self, record: logging.LogRecord) -> bool:
        self.caught.append((record.levelno, record.getMessage()))
        return False


def catch_data_warnings(fetch: Callable[[], T]) -> tuple[T, Warned]:
    """``fetch()`` with the ``i2i.data`` logger's records caught instead of shown: ``(value, records)``."""
    catch = _Catch()
    data_logger = logging.getLogger(DATA_LOGGER)
    data_logger.addFilter(catch)
    try:
        return fetch(), catch.caught
    finally:
        data_logger.removeFilter(catch)


class DataWarnings:
    """Shows each warning of the ``i2i.data`` logger once per run, whichever process or dataset object
    raised it (a run builds its training set and its sample set; workers each hold a copy)."""

    def __init__(self) -> None:
        self._shown: set[str] = set()

    def show(self, records: Warned) -> None:
        """Log the records not shown before on the ``i2i.data`` logger, at their own level."""
        for level, message in records:
            if message not in self._shown:
                self._shown.add(message)
                logging.getLogger(DATA_LOGGER).log(level, "%s", message)

    def run(self, fetch: Callable[[], T]) -> T:
        """``fetch()`` (building a dataset, reading items), showing its data warnings once."""
        value, records = catch_data_warnings(fetch)
        self.show(records)
        return value


class EpochDataset(Dataset[Any]):
    """``dataset`` addressed by ``(epoch, index)``: selects the epoch's draws before fetching the item.

    Args:
        dataset: A map-style dataset, optionally with ``set_epoch(epoch)``.
    """

    def __init__(self, dataset: Dataset[Any]) -> None:
        self.dataset = dataset
        self._set_epoch: Callable[[int], None] | None = getattr(dataset, "set_epoch", None)
        self._epoch: int | None = None

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, key: EpochIndex) -> tuple[Any, Warned]:
        """The item and the data warnings its reading raised (shown by the main process)."""
        epoch, index = key
        if self._set_epoch is not None and epoch != self._epoch:
            self._set_epoch(epoch)
            self._epoch = epoch
        return catch_data_warnings(lambda: self.dataset[index])


def _collate(items: list[tuple[Any, Warned]]) -> tuple[Any, Warned]:
    return default_collate([item for item, _ in items]), [w for _, warned in items for w in warned]


class EpochBatchSampler(Sampler[list[EpochIndex]]):
    """Yields the batches set by :meth:`set_batches`, each index paired with the epoch."""

    def __init__(self) -> None:
        self.epoch = 0
        self._batches: list[list[int]] = []

    def set_batches(self, epoch: int, batches: Sequence[Sequence[int]]) -> None:
        """The batches (lists of dataset indices) of ``epoch`` that the next iteration yields."""
        self.epoch = int(epoch)
        self._batches = [list(batch) for batch in batches]

    def __iter__(self) -> Iterator[list[EpochIndex]]:
        epoch = self.epoch
        for batch in self._batches:
            yield [(epoch, index) for index in batch]

    def __len__(self) -> int:
        return len(self._batches)


class EpochLoader:
    """One ``DataLoader`` for the whole run; :meth:`epoch` iterates the given batches of an epoch.

    Args:
        dataset: The training dataset (with ``set_epoch``).
        num_workers: Worker processes (0 loads in the main process).
        pin_memory: Return batches in page-locked memory (for asynchronous copies to a GPU).
        persistent_workers: Keep the workers alive between epochs (needs ``num_workers > 0``).
        worker_init_fn: Called in each worker after it started.
        seed: Seeds the workers' torch RNGs: ``seed * 100003 + epoch`` for fresh workers each epoch,
            the first epoch's for persistent workers.
        warnings: Shows the data warnings of the batches (default: a new :class:`DataWarnings`).
    """

    def __init__(
        self,
        dataset: Dataset[Any],
        *,
        num_workers: int = 0,
        pin_memory: bool = False,
        persistent_workers: bool = False,
        worker_init_fn: Callable[[int], None] | None = None,
        seed: int = 0,
        warnings: DataWarnings | None = None,
    ) -> None:
        self.sampler = EpochBatchSampler()
        self.warnings = warnings or DataWarnings()
        self.seed = seed
        self.persistent_workers = persistent_workers and num_workers > 0
        self._generator = torch.Generator().manual_seed(seed * 100_003)
        self.loader: DataLoader[Any] = DataLoader(
            EpochDataset(dataset),
            batch_sampler=self.sampler,
            collate_fn=_collate,
            num_workers=num_workers,
            pin_memory=pin_memory,
            persistent_workers=self.persistent_workers,
            worker_init_fn=worker_init_fn if num_workers else None,
            # workers seed from a generator of their own: iterating leaves the global RNG alone
            generator=self._generator,
        )
        self._started = False

    def epoch(self, epoch: int, batches: Sequence[Sequence[int]]) -> Iterator[Any]:
        """An iterator over the collated ``batches`` of ``epoch`` (lists of dataset indices)."""
        self.sampler.set_batches(epoch, batches)
        if not (self.persistent_workers and self._started):
            self._generator.manual_seed(self.seed * 100_003 + epoch)
        self._started = True
        return self._batches(iter(self.loader))

    def _batches(self, batches: Iterator[tuple[Any, Warned]]) -> Iterator[Any]:
        for batch, warned in batches:
            self.warnings.show(warned)
            yield batch
