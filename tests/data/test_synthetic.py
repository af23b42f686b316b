"""Built-in synthetic data: determinism by (seed, split, index), visibly different domains, folder export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from i2i.data.datasets import AlignedDataset, UnalignedDataset
from i2i.data.geometry import Geometry
from i2i.data.io import list_images, read_image, to_tensor
from i2i.data.synthetic import (
    SyntheticPairedDataset,
    SyntheticUnpairedDataset,
    synthetic_domain_image,
    synthetic_geometry,
    synthetic_pair,
    write_synthetic_folder,
)

LABEL_COLOURS = {(0, 0, 0), (230, 30, 30), (30, 200, 30), (30, 30, 230)}


def test_items_depend_only_on_seed_split_and_index() -> None:
    label, photo = synthetic_pair(5, 32, seed=1)
    assert label.shape == photo.shape == (32, 32, 3) and label.dtype == photo.dtype == np.uint8
    for _ in range(2):  # drawing other items in between changes nothing
        synthetic_pair(3, 32, seed=1)
        again = synthetic_pair(5, 32, seed=1)
        assert np.array_equal(again[0], label) and np.array_equal(again[1], photo)
    assert not np.array_equal(synthetic_pair(5, 32, seed=2)[1], photo)
    assert not np.array_equal(synthetic_pair(5, 32, seed=1, split="test")[1], photo)
    assert not np.array_equal(synthetic_pair(6, 32, seed=1)[1], photo)
    image = synthetic_domain_image("b", 4, 32, seed=3)
    assert np.array_equal(image, synthetic_domain_image("b", 4, 32, seed=3))


def test_paired_label_map_is_flat_classes_and_photo_follows_it() -> None:
    for i in range(8):
        label, photo = synthetic_pair(i, 32)
        assert {tuple(c) for c in label.reshape(-1, 3)} <= LABEL_COLOURS
        background = (label == 0).all(axis=2)
        assert 0 < background.sum() < 32 * 32
        # The rendered background is light (~200), the label background black.
        assert photo[background].mean() > 150


def test_unpaired_domains_differ_in_colour_and_brightness() -> None:
    a = np.stack([synthetic_domain_image("a", i, 32) for i in range(16)]).astype(float).mean(axis=(1, 2))
    b = np.stack([synthetic_domain_image("b", i, 32) for i in range(16)]).astype(float).mean(axis=(1, 2))
    # Per image: domain A is warm (red above blue by > 25) and light (mean > 120); B is cool and dark.
    # Measured over 64 images: A red-blue >= 34, luma >= 148; B red-blue <= -34, luma <= 74.
    assert (a[:, 0] - a[:, 2] > 25).all() and (b[:, 2] - b[:, 0] > 25).all()
    assert a.mean(axis=1).min() > 120 and b.mean(axis=1).max() < 100


def test_datasets_return_contract_items() -> None:
    paired = SyntheticPairedDataset(4, 32, synthetic_geometry(32, train=False, in_channels=1), split="test")
    item = paired[3]
    assert item["a"].shape == (1, 32, 32) and item["b"].shape == (3, 32, 32)
    assert item["a_path"] == item["b_path"] == "synthetic://paired/test/3"
    label, photo = synthetic_pair(3, 32, split="test")
    assert torch.equal(item["b"], to_tensor(photo))
    swapped = SyntheticPairedDataset(
        4, 32, synthetic_geometry(32, train=False, direction="b2a"), split="test"
    )[3]
    assert torch.equal(swapped["a"], to_tensor(photo)) and torch.equal(swapped["b"], to_tensor(label))
    with pytest.raises(IndexError):
        paired[4]

    unpaired = SyntheticUnpairedDataset(6, 16, synthetic_geometry(16, seed=2))
    first = [unpaired[i]["b_path"] for i in range(6)]
    assert unpaired[0]["a_path"] == "synthetic://unpaired/train/A/0" and first[0].startswith(
        "synthetic://unpaired/train/B/"
    )
    assert first == [
        SyntheticUnpairedDataset(6, 16, synthetic_geometry(16, seed=2))[i]["b_path"] for i in range(6)
    ]
    unpaired.set_epoch(1)
    assert [unpaired[i]["b_path"] for i in range(6)] != first


def test_write_synthetic_folder_matches_generators_and_layouts(tmp_path: Path) -> None:
    paired = write_synthetic_folder(tmp_path / "p", "paired", count=3, size=16, seed=4)
    assert [p.relative_to(paired).as_posix() for p in list_images(paired)][:3] == [
        "test/0000.png",
        "test/0001.png",
        "test/0002.png",
    ]
    label, photo = synthetic_pair(1, 16, seed=4, split="train")
    assert np.array_equal(read_image(paired / "train" / "0001.png"), np.concatenate([label, photo], axis=1))
    item = AlignedDataset(paired, "train", Geometry(train=False, preprocess="none", flip=False))[1]
    assert torch.equal(item["a"], to_tensor(label)) and torch.equal(item["b"], to_tensor(photo))

    unpaired = write_synthetic_folder(tmp_path / "u", "unpaired", count=2, size=16, seed=4, splits=("train",))
    assert sorted(p.name for p in unpaired.iterdir()) == ["trainA", "trainB"]
    assert np.array_equal(
        read_image(unpaired / "trainB" / "0001.png"), synthetic_domain_image("b", 1, 16, seed=4)
    )
    assert len(UnalignedDataset(unpaired, "train", Geometry(preprocess="none"))) == 2
