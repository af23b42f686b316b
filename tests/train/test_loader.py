from __future__ import annotations

import logging
import os

import pytest
import torch
from torch.utils.data import Dataset

from i2i.data import Geometry, SyntheticPairedDataset
from i2i.train.loader import DataWarnings, EpochBatchSampler, EpochLoader


class _EpochProbe(Dataset[dict[str, int]]):
    """Items tell which epoch the fetching process had selected and which process fetched them."""

    def __init__(self) -> None:
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> dict[str, int]:
        return {"index": index, "epoch": self.epoch, "pid": os.getpid()}


def _crops(dataset: SyntheticPairedDataset, epoch: int, indices: list[int]) -> torch.Tensor:
    dataset.set_epoch(epoch)
    return torch.stack([dataset[i]["a"] for i in indices])  # type: ignore[misc]


def test_sampler_pairs_every_index_with_the_epoch() -> None:
    sampler = EpochBatchSampler()
    sampler.set_batches(3, [[2, 0], [1]])
    assert list(sampler) == [[(3, 2), (3, 0)], [(3, 1)]] and len(sampler) == 2


def test_persistent_workers_see_each_epoch() -> None:
    loader = EpochLoader(_EpochProbe(), num_workers=1, persistent_workers=True)
    first = list(loader.epoch(0, [[0, 1], [2, 3]]))
    second = list(loader.epoch(1, [[3, 2], [1, 0]]))
    pids = {int(p) for batch in first + second for p in batch["pid"]}
    assert len(pids) == 1 and pids != {os.getpid()}  # one worker process, kept across the epochs
    assert [b["epoch"].tolist() for b in first] == [[0, 0], [0, 0]]
    assert [b["epoch"].tolist() for b in second] == [[1, 1], [1, 1]]
    assert [b["index"].tolist() for b in second] == [[3, 2], [1, 0]]

    # Real crops: a persistent worker gives epoch 1 its own crops, the ones set_epoch(1) selects in
    # this process (a plain persistent DataLoader would repeat epoch 0's).
    data = SyntheticPairedDataset(4, 16, Geometry(load_size=16, crop_size=8, preprocess="crop"))
    loader = EpochLoader(data, num_workers=1, persistent_workers=True)
    epoch0 = next(loader.epoch(0, [[0, 1, 2, 3]]))["a"]
    epoch1 = next(loader.epoch(1, [[0, 1, 2, 3]]))["a"]
    reference = SyntheticPairedDataset(4, 16, Geometry(load_size=16, crop_size=8, preprocess="crop"))
    assert torch.equal(epoch0, _crops(reference, 0, [0, 1, 2, 3]))
    assert torch.equal(epoch1, _crops(reference, 1, [0, 1, 2, 3]))
    assert not torch.equal(epoch0, epoch1)


def test_in_process_loading_follows_the_epoch_too() -> None:
    loader = EpochLoader(_EpochProbe(), num_workers=0)
    assert next(loader.epoch(2, [[1]]))["epoch"].tolist() == [2]
    assert next(loader.epoch(5, [[1]]))["epoch"].tolist() == [5]
    state = torch.get_rng_state()
    list(loader.epoch(6, [[0], [1]]))
    assert torch.equal(state, torch.get_rng_state())  # iterating leaves the global RNG alone


class _Warns(Dataset[dict[str, torch.Tensor]]):
    """Index 1 is 'unreadable': every read of it warns on the i2i.data logger, in any process."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if index == 1:
            logging.getLogger("i2i.data").warning("skipping unreadable image: %s", "1.png")
        return {"index": torch.tensor(index)}


@pytest.mark.parametrize("workers", [0, 2])
def test_data_warnings_are_shown_once_per_run(workers: int, caplog: pytest.LogCaptureFixture) -> None:
    warnings = DataWarnings()
    loader = EpochLoader(_Warns(), num_workers=workers, warnings=warnings)
    with caplog.at_level(logging.WARNING, logger="i2i.data"):
        for epoch in range(2):  # fresh workers each epoch, each with its own copy of the dataset
            assert [b["index"].tolist() for b in loader.epoch(epoch, [[0, 1], [2, 3], [1]])] == [
                [0, 1],
                [2, 3],
                [1],
            ]
        warnings.run(lambda: _Warns()[1])  # e.g. the trainer's sample batch, read in this process
    shown = [r.getMessage() for r in caplog.records if r.name == "i2i.data"]
    assert shown == ["skipping unreadable image: 1.png"]
