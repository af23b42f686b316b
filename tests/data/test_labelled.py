"""Labelled datasets: domain folders (both layouts), built-in domains, MNIST files."""

from __future__ import annotations

import struct
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch

from i2i.data import write_image
from i2i.data.geometry import Geometry
from i2i.data.labelled import (
    DomainFolderDataset,
    SyntheticDomainsDataset,
    TorchvisionLabelled,
    folder_domain_names,
)
from i2i.data.layouts import build_dataset
from i2i.data.synthetic_domains import DOMAIN_COLOURS, synthetic_domain_sample

KEEP = Geometry(preprocess="none", flip=False)


def _write(folder: Path, count: int, value: int) -> None:
    for i in range(count):
        write_image(folder / f"{i}.png", np.full((12, 12, 3), value, np.uint8))


def test_domain_folders_give_each_image_its_domain_index(tmp_path: Path) -> None:
    for name, count, value in (("cat", 2, 10), ("dog", 3, 120), ("fox", 1, 250)):
        _write(tmp_path / "train" / name, count, value)
    data = DomainFolderDataset(tmp_path, "train", KEEP, domains=["cat", "dog", "fox"])
    items = [data[i] for i in range(len(data))]
    assert [item["label"] for item in items] == [0, 0, 1, 1, 1, 2]
    values = [round(float(item["a"].mean()) * 127.5 + 127.5) for item in items]  # type: ignore[union-attr]
    assert values == [10, 10, 120, 120, 120, 250]


def test_two_domains_read_the_cyclegan_layout(tmp_path: Path) -> None:
    _write(tmp_path / "trainA", 2, 0)
    _write(tmp_path / "trainB", 1, 255)
    data = DomainFolderDataset(tmp_path, "train", KEEP, domains=["horse", "zebra"])
    assert [data[i]["label"] for i in range(3)] == [0, 0, 1]
    assert str(data[2]["a_path"]).endswith("trainB/0.png")
    with pytest.raises(FileNotFoundError, match="testA and testB"):
        DomainFolderDataset(tmp_path, "test", domains=["horse", "zebra"])
    with pytest.raises(ValueError, match="needs the domain"):
        folder_domain_names(None)


def test_synthetic_domains_share_the_scene_and_differ_in_colour() -> None:
    red, green = synthetic_domain_sample("red", 5, 32), synthetic_domain_sample("green", 5, 32)
    changed = (red != green).any(axis=2)
    assert 0.05 < changed.mean() < 0.5  # only the shape is repainted
    assert np.abs(red[changed].mean(0) - DOMAIN_COLOURS["red"]).max() < 40
    data = SyntheticDomainsDataset(6, 32, domains=["blue", "red"])
    assert [data[i]["label"] for i in range(6)] == [0, 1, 0, 1, 0, 1]
    assert data[0]["a"].shape == (3, 32, 32)  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="unknown synthetic domains"):
        SyntheticDomainsDataset(6, 32, domains=["purple", "red"])


def _idx(path: Path, magic: int, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    )


@pytest.mark.parametrize(("name", "folder"), [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_torchvision_files_are_read_and_padded_to_32(tmp_path: Path, name: str, folder: str) -> None:
    images = np.zeros((4, 28, 28), np.uint8)
    images[:, 10:18, 10:18] = np.arange(4, dtype=np.uint8)[:, None, None] * 60
    for prefix in ("train", "t10k"):
        _idx(tmp_path / folder / "raw" / f"{prefix}-images-idx3-ubyte", 0x803, images)
        _idx(
            tmp_path / folder / "raw" / f"{prefix}-labels-idx1-ubyte", 0x801, np.array([3, 1, 4, 1], np.uint8)
        )
    data = build_dataset(name, tmp_path, "train", Geometry(crop_size=32, in_channels=1))
    assert len(data) == 4  # type: ignore[arg-type]
    item = data[2]
    assert item["label"] == 4
    image = item["a"]
    assert isinstance(image, torch.Tensor) and image.shape == (1, 32, 32)
    assert float(image[0, 14, 14]) == pytest.approx(120 / 127.5 - 1) and image[0, 0, 0] == -1  # padded by 2
    assert TorchvisionLabelled(name, tmp_path, "test", size=16, max_images=2).image(1).shape == (16, 16, 1)


def test_missing_torchvision_data_fails_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from torchvision import datasets

    def offline(self: object) -> None:
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(datasets.MNIST, "download", offline)
    with pytest.raises(FileNotFoundError, match=r"download failed .*no network.*MNIST/raw"):
        TorchvisionLabelled("mnist", tmp_path)
    with pytest.raises(FileNotFoundError, match="mnist: not found"):
        TorchvisionLabelled("mnist", tmp_path, download=False)
