"""On-disk datasets: layouts, direction, determinism per epoch, skipping unreadable files."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from i2i.data.datasets import AlignedDataset, PairedFolderDataset, SingleFolderDataset, UnalignedDataset
from i2i.data.geometry import Geometry
from i2i.data.io import write_image

EVAL = Geometry(train=False, preprocess="none", flip=False)
RED, BLUE = (255, 0, 0), (0, 0, 255)


def _solid(colour: tuple[int, int, int], size: int = 8) -> np.ndarray:
    return np.full((size, size, 3), colour, np.uint8)


def _pixel(tensor: torch.Tensor) -> list[int]:
    return ((tensor[:, 0, 0] + 1) * 127.5).round().int().tolist()


def _aligned(root: Path, count: int = 3) -> None:
    for i in range(count):
        write_image(root / "train" / f"{i}.png", np.concatenate([_solid((i, 0, 0)), _solid(BLUE)], axis=1))


def test_aligned_splits_halves_and_b2a_swaps(tmp_path: Path) -> None:
    _aligned(tmp_path)
    item = AlignedDataset(tmp_path, "train", EVAL)[2]
    assert _pixel(item["a"]) == [2, 0, 0] and _pixel(item["b"]) == list(BLUE)
    assert item["a"].shape == item["b"].shape == (3, 8, 8)
    assert item["a_path"] == item["b_path"] == str(tmp_path / "train" / "2.png")
    swapped = AlignedDataset(tmp_path, "train", replace(EVAL, direction="b2a", in_channels=1))[2]
    assert swapped["a"].shape == (1, 8, 8) and _pixel(swapped["b"]) == [2, 0, 0]
    assert len(AlignedDataset(tmp_path, "train", EVAL, max_images=2)) == 2


def test_missing_and_empty_folders_are_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "val"))):
        AlignedDataset(tmp_path, "val")
    (tmp_path / "test").mkdir()
    with pytest.raises(FileNotFoundError, match="no images"):
        AlignedDataset(tmp_path, "test")
    with pytest.raises(FileNotFoundError, match="trainA"):
        UnalignedDataset(tmp_path, "train")
    with pytest.raises(FileNotFoundError, match="folders A and B"):
        PairedFolderDataset(tmp_path, "train")


def test_unreadable_file_is_skipped_and_logged_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _aligned(tmp_path)
    bad = tmp_path / "train" / "1.png"
    bad.write_bytes(b"not a png")
    ds = AlignedDataset(tmp_path, "train", EVAL)
    with caplog.at_level(logging.WARNING, logger="i2i.data"):
        paths = [ds[1]["a_path"], ds[1]["a_path"], ds[0]["a_path"]]
    assert paths == [str(tmp_path / "train" / "2.png")] * 2 + [str(tmp_path / "train" / "0.png")]
    warnings = [r for r in caplog.records if r.name == "i2i.data"]
    assert len(warnings) == 1 and str(bad) in warnings[0].getMessage()


def test_all_unreadable_raises_naming_the_folder(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    for i in range(2):
        (tmp_path / "train" / f"{i}.jpg").write_bytes(b"")
    with pytest.raises(RuntimeError, match=r"no readable images in .*train"):
        AlignedDataset(tmp_path, "train", EVAL)[0]


def test_paired_folders_match_by_name_with_and_without_split(tmp_path: Path) -> None:
    for base in (tmp_path / "one" / "train", tmp_path / "two"):
        write_image(base / "A" / "x.png", _solid(RED))
        write_image(base / "B" / "x.jpg", _solid(BLUE, 8))
        write_image(base / "A" / "only_a.png", _solid(RED))
        write_image(base / "A" / "sub" / "y.png", _solid((0, 255, 0)))
        write_image(base / "B" / "sub" / "y.png", _solid((9, 9, 9)))
    for root in (tmp_path / "one", tmp_path / "two"):
        ds = PairedFolderDataset(root, "train", EVAL)
        assert len(ds) == 2  # only_a has no partner
        item = ds[1]
        assert item["a_path"].endswith("A/x.png") and item["b_path"].endswith("B/x.jpg")
        assert _pixel(item["a"]) == list(RED) and abs(_pixel(item["b"])[2] - 255) <= 3
    swapped = PairedFolderDataset(tmp_path / "two", "train", replace(EVAL, direction="b2a"))[0]
    assert _pixel(swapped["a"]) == [9, 9, 9]


def test_paired_reference_layout_keeps_train_and_test_apart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The reference's ``A/train, A/test, B/train, B/test``: each split reads its own files only."""
    for split, count in (("train", 3), ("test", 2)):
        for i in range(count):
            write_image(tmp_path / "A" / split / f"{split}{i}.png", _solid(RED))
            write_image(tmp_path / "B" / split / f"{split}{i}.png", _solid(BLUE))
    with caplog.at_level(logging.WARNING, logger="i2i.data"):
        train = PairedFolderDataset(tmp_path, "train", EVAL)
        test = PairedFolderDataset(tmp_path, "test", EVAL)
    assert [Path(a).name for a, _ in train.pairs] == ["train0.png", "train1.png", "train2.png"]
    assert [Path(a).name for a, _ in test.pairs] == ["test0.png", "test1.png"]
    assert train.has_splits and test.has_splits and not caplog.records
    with pytest.raises(FileNotFoundError, match=r"no split 'val' .*it has test, train"):
        PairedFolderDataset(tmp_path, "val", EVAL)


def test_paired_folders_without_splits_say_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_image(tmp_path / "A" / "x.png", _solid(RED))
    write_image(tmp_path / "B" / "x.png", _solid(BLUE))
    with caplog.at_level(logging.WARNING, logger="i2i.data"):
        dataset = PairedFolderDataset(tmp_path, "test", EVAL)
    assert len(dataset) == 1 and not dataset.has_splits
    (record,) = caplog.records
    assert "no split folders (test/A or A/test)" in record.getMessage()
    assert "training and testing read the same images" in record.getMessage()


def _unaligned(root: Path, count_a: int = 3, count_b: int = 5) -> None:
    for i in range(count_a):
        write_image(root / "trainA" / f"{i}.png", _solid((i, 0, 0)))
    for i in range(count_b):
        write_image(root / "trainB" / f"{i}.png", _solid((0, 0, 100 + i)))


def test_unaligned_length_and_partners_deterministic_per_epoch(tmp_path: Path) -> None:
    _unaligned(tmp_path)
    ds = UnalignedDataset(tmp_path, "train", Geometry(load_size=8, crop_size=8, preprocess="none", seed=7))
    assert len(ds) == 5  # max(3, 5) as in the reference
    assert [_pixel(ds[i]["a"])[0] for i in range(5)] == [0, 1, 2, 0, 1]

    def partners(dataset: UnalignedDataset, epoch: int) -> list[str]:
        dataset.set_epoch(epoch)
        return [Path(dataset[i]["b_path"]).name for i in range(len(dataset))]

    again = UnalignedDataset(tmp_path, "train", Geometry(load_size=8, crop_size=8, preprocess="none", seed=7))
    by_epoch = [partners(ds, e) for e in range(4)]
    assert by_epoch == [partners(again, e) for e in range(4)]  # same (seed, epoch) -> same partners
    assert len({tuple(p) for p in by_epoch}) > 1  # a new epoch reshuffles
    assert partners(ds, 0) == by_epoch[0]  # going back to an epoch gives its draws back
    eval_ds = UnalignedDataset(tmp_path, "train", EVAL)
    assert [Path(eval_ds[i]["b_path"]).name for i in range(5)] == [f"{i}.png" for i in range(5)]
    swapped = UnalignedDataset(tmp_path, "train", replace(EVAL, direction="b2a"))[0]
    assert "trainB" in swapped["a_path"] and "trainA" in swapped["b_path"]


def test_unaligned_crops_change_with_epoch(tmp_path: Path) -> None:
    for i in range(2):
        image = np.random.default_rng(i).integers(0, 256, (40, 40, 3), dtype=np.uint8)
        write_image(tmp_path / "trainA" / f"{i}.png", image)
        write_image(tmp_path / "trainB" / f"{i}.png", image)
    ds = UnalignedDataset(
        tmp_path, "train", Geometry(load_size=40, crop_size=16, preprocess="crop", flip=False)
    )
    first = ds[0]["a"]
    assert torch.equal(first, ds[0]["a"])
    ds.set_epoch(1)
    assert not torch.equal(first, ds[0]["a"])


def test_single_folder(tmp_path: Path) -> None:
    write_image(tmp_path / "x" / "a.png", _solid(RED, 14))
    item = SingleFolderDataset(tmp_path / "x")[0]
    # preprocess "none" only rounds to a multiple of 4: 14 / 4 = 3.5 rounds (half to even) to 4 -> 16
    assert set(item) == {"a", "a_path"} and item["a"].shape == (3, 16, 16)
