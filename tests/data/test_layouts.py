"""The layout registry: flags of every layout, the one front door, unknown names."""

from __future__ import annotations

import doctest
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

import i2i.data.layouts as layouts_module
from i2i.data.colorization import LabPairs
from i2i.data.datasets import AlignedDataset, PairedFolderDataset, SingleFolderDataset, UnalignedDataset
from i2i.data.digits import DIGIT_CLASSES, DigitsDataset
from i2i.data.geometry import Geometry
from i2i.data.io import write_image
from i2i.data.labelled import (
    FASHION_MNIST_CLASSES,
    DomainFolderDataset,
    SyntheticDomainsDataset,
    TorchvisionLabelled,
)
from i2i.data.layouts import LAYOUTS, build_dataset, data_layout
from i2i.data.synthetic import SyntheticPairedDataset, SyntheticUnpairedDataset
from i2i.data.synthetic_domains import SYNTHETIC_DOMAINS

# Train mode with a real random crop and flip, b2a and uneven channels: every geometry field matters.
GEOMETRY = Geometry(direction="b2a", load_size=20, crop_size=16, in_channels=1, out_channels=3, seed=3)
SIZE, COUNT, DOMAINS = 20, 5, ("x", "y")
DOMAINS_OF = {"domains": DOMAINS, "synthetic_domains": ("blue", "red")}
RGB = Geometry(direction="b2a", load_size=20, crop_size=16, seed=3)  # colorization pairs come from RGB
Items = Dataset[dict[str, object]]


def _image(rng: np.random.Generator, width: int = SIZE) -> np.ndarray:
    return rng.integers(0, 256, (SIZE, width, 3), dtype=np.uint8)


def _idx(path: Path, magic: int, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    )


def _write_data(root: Path) -> None:
    """Small generated data in every on-disk layout (three images per folder)."""
    rng = np.random.default_rng(0)
    for i in range(3):
        write_image(root / "aligned" / "train" / f"{i}.png", _image(rng, 2 * SIZE))
        for side in ("A", "B"):
            write_image(root / "paired" / "train" / side / f"{i}.png", _image(rng))
            write_image(root / "unaligned" / f"train{side}" / f"{i}.png", _image(rng))
        for domain in DOMAINS:
            write_image(root / "domains" / "train" / domain / f"{i}.png", _image(rng))
        write_image(root / "single" / f"{i}.png", _image(rng))
        write_image(root / "colorization" / "train" / f"{i}.png", _image(rng))
    images = rng.integers(0, 256, (4, 28, 28), dtype=np.uint8)
    for folder in ("MNIST", "FashionMNIST"):
        raw = root / "torchvision" / folder / "raw"
        for prefix in ("train", "t10k"):  # torchvision wants both splits
            _idx(raw / f"{prefix}-images-idx3-ubyte", 0x803, images)
            _idx(raw / f"{prefix}-labels-idx1-ubyte", 0x801, np.array([3, 1, 4, 1], np.uint8))


def _root(data: Path, name: str) -> Path:
    return data / {"mnist": "torchvision", "fashion_mnist": "torchvision"}.get(name, name)


# The per-class construction each layout stands for, with the same geometry (before the registry,
# build_dataset / build_labelled_dataset spelled these out keyword by keyword).
DIRECT: dict[str, Callable[[Path], Items]] = {
    "aligned": lambda root: AlignedDataset(root, "train", GEOMETRY, max_images=COUNT),
    "paired": lambda root: PairedFolderDataset(root, "train", GEOMETRY, max_images=COUNT),
    "unaligned": lambda root: UnalignedDataset(root, "train", GEOMETRY, max_images=COUNT),
    "single": lambda root: SingleFolderDataset(root, GEOMETRY, max_images=COUNT),
    "synthetic_paired": lambda root: SyntheticPairedDataset(COUNT, SIZE, GEOMETRY),
    "synthetic_unpaired": lambda root: SyntheticUnpairedDataset(COUNT, SIZE, GEOMETRY),
    "digits": lambda root: DigitsDataset(COUNT, GEOMETRY.crop_size, seed=GEOMETRY.seed, channels=1),
    "mnist": lambda root: TorchvisionLabelled("mnist", root, size=16, channels=1, max_images=COUNT),
    "fashion_mnist": lambda root: TorchvisionLabelled(
        "fashion_mnist", root, size=16, channels=1, max_images=COUNT
    ),
    "domains": lambda root: DomainFolderDataset(root, "train", GEOMETRY, domains=DOMAINS, max_images=COUNT),
    "synthetic_domains": lambda root: SyntheticDomainsDataset(
        COUNT, SIZE, GEOMETRY, domains=DOMAINS_OF["synthetic_domains"]
    ),
    "colorization": lambda root: LabPairs(SingleFolderDataset(root / "train", RGB, max_images=COUNT)),
    "synthetic_colorization": lambda root: LabPairs(SyntheticPairedDataset(COUNT, SIZE, RGB), key="b"),
}


def _build(name: str, data: Path) -> Items:
    return build_dataset(
        name,
        _root(data, name),
        "train",
        GEOMETRY,
        max_images=COUNT,
        domains=DOMAINS_OF.get(name),
        synthetic_size=SIZE,
        synthetic_count=64,
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("layouts")
    _write_data(root)
    return root


def test_flags_of_the_known_layouts() -> None:
    flags = {
        name: (e.paired, e.targets, e.labelled, e.needs_root)
        for name in LAYOUTS.names()
        for e in [data_layout(name)]
    }
    colorization = {"colorization", "synthetic_colorization"}
    assert {n for n, f in flags.items() if f[0]} == {"aligned", "paired", "synthetic_paired"} | colorization
    assert {n for n, f in flags.items() if f[1]} == colorization | {
        "aligned",
        "paired",
        "synthetic_paired",
        "unaligned",
        "synthetic_unpaired",
    }
    assert {n for n, f in flags.items() if f[2]} == {
        "digits",
        "mnist",
        "fashion_mnist",
        "domains",
        "synthetic_domains",
    }
    assert {n for n, f in flags.items() if not f[3]} == {
        "digits",
        "synthetic_paired",
        "synthetic_unpaired",
        "synthetic_domains",
        "synthetic_colorization",
    }
    assert {n for n in LAYOUTS.names() if data_layout(n).channels is not None} == colorization
    assert set(DIRECT) == set(LAYOUTS.names())  # a new layout gets a row here


@pytest.mark.parametrize("name", LAYOUTS.names())
def test_items_match_the_flags(name: str, data: Path) -> None:
    layout = data_layout(name)
    dataset = _build(name, data)
    items = [dataset[i] for i in range(len(dataset))]  # type: ignore[arg-type]
    assert len(items) >= 1  # max_images caps each folder (per domain for "domains")
    for item in items:
        a = item["a"]
        assert isinstance(a, torch.Tensor) and a.shape[0] == 1 and -1 <= a.min() <= a.max() <= 1
        assert ("b" in item) == layout.targets and ("label" in item) == layout.labelled
        if layout.targets:
            b = item["b"]
            assert isinstance(b, torch.Tensor) and b.shape[0] == (layout.channels or (1, 3))[1]
        if layout.paired:  # one crop for both sides: the same file or scene, the same size
            assert item["a"].shape[-2:] == item["b"].shape[-2:]  # type: ignore[union-attr]
        if layout.labelled:
            assert 0 <= int(item["label"]) < len(layout.classes(DOMAINS_OF.get(name)))  # type: ignore[call-overload]
    if not layout.needs_root:
        assert len(build_dataset(name, "/nonexistent", geometry=GEOMETRY, synthetic_count=2)) == 2  # type: ignore[arg-type]


@pytest.mark.parametrize("name", LAYOUTS.names())
def test_build_dataset_equals_the_per_class_construction(name: str, data: Path) -> None:
    built, direct = _build(name, data), DIRECT[name](_root(data, name))
    assert type(built) is type(direct) and len(built) == len(direct)  # type: ignore[arg-type]
    for epoch in (0, 1):  # the same crops, flips and unaligned partners in every epoch
        for dataset in (built, direct):
            if hasattr(dataset, "set_epoch"):
                dataset.set_epoch(epoch)
        for i in range(len(direct)):  # type: ignore[arg-type]
            got, want = built[i], direct[i]
            assert got.keys() == want.keys()
            for key, value in want.items():
                assert torch.equal(got[key], value) if isinstance(value, torch.Tensor) else got[key] == value


def test_classes_of_the_labelled_layouts() -> None:
    assert data_layout("digits").classes() == list(DIGIT_CLASSES)
    assert data_layout("fashion_mnist").classes(["ignored"]) == list(FASHION_MNIST_CLASSES)
    assert data_layout("synthetic_domains").classes() == list(SYNTHETIC_DOMAINS)
    assert data_layout("domains").classes(["cat", "dog"]) == ["cat", "dog"]
    with pytest.raises(ValueError, match="at least two"):
        data_layout("domains").classes(["cat"])
    with pytest.raises(ValueError, match="not a labelled layout"):
        data_layout("aligned").classes()


def test_unknown_layout_names_close_matches() -> None:
    with pytest.raises(KeyError, match=r"unknown data layout 'alined'; did you mean 'aligned'"):
        build_dataset("alined", "x")


def test_synthetic_count_is_capped_by_max_images() -> None:
    assert len(build_dataset("synthetic_paired", "", max_images=4, synthetic_count=9)) == 4  # type: ignore[arg-type]
    assert len(build_dataset("synthetic_paired", "", synthetic_count=9)) == 9  # type: ignore[arg-type]


def test_docstring_examples_run() -> None:
    result = doctest.testmod(layouts_module)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize(
    ("layout", "name", "hint"),
    [
        ("aligned", "facades", "download it with: i2i data download facades --root {parent}"),
        ("unaligned", "horse2zebra", "download it with: i2i data download horse2zebra --root {parent}"),
        ("unaligned", "facades", "i2i data download facades --root {parent} --method cyclegan"),
        ("aligned", "my_pairs", "point data.root at the dataset folder (--set data.root=DIR)"),
    ],
)
def test_a_missing_dataset_folder_says_how_to_get_it(
    layout: str, name: str, hint: str, tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        build_dataset(layout, tmp_path / name, "train")
    message = str(caught.value)
    assert hint.format(parent=tmp_path) in message and "\n" not in message
    assert str(tmp_path / name) in message  # the folder it looked for
