"""The data layouts a recipe can name (``data.layout``), and :func:`build_dataset`, the one front door.

Each layout is registered in :data:`LAYOUTS` by a small builder function that returns its
:class:`DataLayout`: how to build the dataset, and what its items are (``paired``, ``targets``,
``labelled``, whether it reads ``root``, and how a labelled layout's class names are resolved). Every
other part of i2i (recipe checks, trainer, evaluation, device augmentation) reads these flags instead
of listing layout names.

Image-to-image layouts, items ``{"a", "b", "a_path", "b_path"}`` (:mod:`i2i.data.datasets`,
:mod:`i2i.data.synthetic`): ``aligned``, ``paired``, ``synthetic_paired`` (paired), ``unaligned``,
``synthetic_unpaired`` (unpaired); ``colorization`` and ``synthetic_colorization`` (paired: Lab
lightness -> colour of RGB images, :mod:`i2i.data.colorization`). Labelled layouts, items ``{"a", "label", "a_path"}``
(:mod:`i2i.data.labelled`): ``digits``, ``mnist``, ``fashion_mnist``, ``domains``,
``synthetic_domains``. ``single``: one folder of images to translate, items ``{"a", "a_path"}``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from torch.utils.data import Dataset

from i2i.data.colorization import LabPairs
from i2i.data.datasets import AlignedDataset, PairedFolderDataset, SingleFolderDataset, UnalignedDataset
from i2i.data.digits import DIGIT_CLASSES, DigitsDataset
from i2i.data.geometry import Geometry
from i2i.data.io import IMAGE_EXTENSIONS
from i2i.data.labelled import (
    FASHION_MNIST_CLASSES,
    DomainFolderDataset,
    SyntheticDomainsDataset,
    TorchvisionLabelled,
    folder_domain_names,
)
from i2i.data.synthetic import SyntheticPairedDataset, SyntheticUnpairedDataset
from i2i.data.synthetic_domains import synthetic_domain_names
from i2i.registry import Registry

__all__ = ["LAYOUTS", "DataLayout", "DatasetArgs", "build_dataset", "data_layout", "detect_layout"]

Items = Dataset[dict[str, object]]


@dataclass(frozen=True)
class DatasetArgs:
    """Everything a layout's builder may read besides the layout name (see :func:`build_dataset`)."""

    root: Path
    split: str
    geometry: Geometry
    max_images: int | None = None
    domains: tuple[str, ...] | None = None
    synthetic_size: int = 64
    synthetic_count: int = 256

    @property
    def count(self) -> int:
        """How many images a synthetic layout generates: ``synthetic_count`` capped by ``max_images``."""
        return (
            min(self.synthetic_count, self.max_images)
            if self.max_images is not None
            else self.synthetic_count
        )


@dataclass(frozen=True)
class DataLayout:
    """What a layout is: its dataset builder and the kind of items it gives.

    Args:
        build: ``DatasetArgs -> Dataset`` of this layout.
        paired: Items hold ``"a"`` and its pixel-aligned target ``"b"`` (PSNR / SSIM apply; one crop
            and flip for both sides).
        targets: Items hold a ``"b"`` image of the target domain, paired or not.
        needs_root: The images are read from (or downloaded to) ``root``; False for generated data.
        resolve_classes: For labelled layouts, ``domains -> class names`` in label order (``domains``
            is ``data.domains``: required by some, a subset for others, ignored by the rest).
        channels: ``(a, b)`` channels when the layout fixes them instead of the recipe's
            ``data.in_channels`` / ``out_channels`` (colorization: 1 lightness -> 2 colour); such a
            layout serves only the methods that name it.
    """

    build: Callable[[DatasetArgs], Items]
    paired: bool = False
    targets: bool = False
    needs_root: bool = True
    resolve_classes: Callable[[Sequence[str] | None], list[str]] | None = None
    channels: tuple[int, int] | None = None

    @property
    def labelled(self) -> bool:
        """Items hold ``"a"`` and a class or domain index ``"label"`` instead of a ``"b"`` image."""
        return self.resolve_classes is not None

    @property
    def trainable(self) -> bool:
        """A method can train on it: it has targets or labels (``single`` has neither)."""
        return self.targets or self.labelled

    def classes(self, domains: Sequence[str] | None = None) -> list[str]:
        """The class / domain names of a labelled layout, in label order; ``ValueError`` for others."""
        if self.resolve_classes is None:
            raise ValueError("not a labelled layout: its items have no classes")
        return self.resolve_classes(domains)


LAYOUTS: Registry[DataLayout] = Registry("data layout")
"""Layout name -> :class:`DataLayout`, the names a recipe's ``data.layout`` may hold."""


def data_layout(name: str) -> DataLayout:
    """The registered layout ``name``; an unknown name raises ``KeyError`` with close matches.

    Example:
        >>> data_layout("aligned").paired, data_layout("unaligned").paired, data_layout("digits").labelled
        (True, False, True)
    """
    return LAYOUTS.build(name)


def detect_layout(root: str | Path, split: str | None = None) -> str:
    """The folder layout of ``root``: ``paired``, ``unaligned``, ``aligned`` or (no split given) ``single``.

    Looked for in this order: ``A`` and ``B`` folders (``ROOT/SPLIT/A`` or ``ROOT/A``): paired;
    ``ROOT/SPLITA`` with ``ROOT/SPLITB``: unaligned; ``ROOT/SPLIT`` holding images: aligned. Without
    ``split`` any split name counts, and images directly in ``ROOT`` make it ``single``.

    Raises:
        ValueError: None of them fits (the message lists what was looked for).
    """
    root = Path(root)
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    splits = [split] if split is not None else [p.name for p in folders]

    def has_images(folder: Path) -> bool:
        return folder.is_dir() and any(
            p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".") for p in folder.iterdir()
        )

    if (root / "A").is_dir() or any((root / s / "A").is_dir() for s in splits):
        return "paired"
    if any((root / f"{s}A").is_dir() and (root / f"{s}B").is_dir() for s in splits) or (
        split is None and any((root / (p.name[:-1] + "B")).is_dir() for p in folders if p.name.endswith("A"))
    ):
        return "unaligned"
    if any(has_images(root / s) for s in splits):
        return "aligned"
    if split is None and has_images(root):
        return "single"
    where = split or "SPLIT"
    raise ValueError(
        f"cannot tell the layout of {str(root)!r}: expected {where}/A + {where}/B (paired), "
        f"{where}A + {where}B (unaligned) or {where}/ with A|B images (aligned); pass --layout"
    )


def build_dataset(
    layout: str,
    root: str | Path,
    split: str = "train",
    geometry: Geometry = Geometry(),
    *,
    max_images: int | None = None,
    domains: Sequence[str] | None = None,
    synthetic_size: int = 64,
    synthetic_count: int = 256,
) -> Items:
    """Build the dataset of any registered ``layout`` (see the module docstring and :data:`LAYOUTS`).

    Args:
        layout: A name in :data:`LAYOUTS`.
        root: The dataset folder; ignored by generated layouts (``needs_root`` False), read itself by
            ``single``.
        split: ``train`` / ``test`` ...: the sub-folder, or the generator stream of synthetic data (so
            train and test differ); ignored by ``single``.
        geometry: Mode, direction, sizes, preprocessing, channels and seed (:class:`Geometry`).
            Labelled layouts and ``single`` use ``in_channels`` and ignore the direction.
        max_images: Use only the first images (synthetic: generate at most this many).
        domains: Class / domain names of labelled layouts (``data.domains``).
        synthetic_size: Size of generated images (pixels) before the geometry applies.
        synthetic_count: Number of generated images.

    Raises:
        KeyError: Unknown layout (the message has close matches).
    """
    entry = data_layout(layout)
    args = DatasetArgs(
        root=Path(root),
        split=split,
        geometry=geometry,
        max_images=max_images,
        domains=tuple(domains) if domains is not None else None,
        synthetic_size=synthetic_size,
        synthetic_count=synthetic_count,
    )
    try:
        return entry.build(args)
    except FileNotFoundError as error:
        if entry.needs_root and not args.root.exists():
            raise FileNotFoundError(f"{error}; {_missing_root_hint(args.root, layout)}") from None
        raise


def _missing_root_hint(root: Path, layout: str) -> str:
    """What to do about a dataset folder that is not there: the download command of a published
    dataset of that name and layout, else where to point ``data.root``."""
    from i2i.data.download import DATASETS

    for (method, name), source in DATASETS.items():
        if name == root.name and source.layout == layout:
            flag = " --method cyclegan" if method == "cyclegan" and ("pix2pix", name) in DATASETS else ""
            return f"download it with: i2i data download {name} --root {root.parent}{flag}"
    return "point data.root at the dataset folder (--set data.root=DIR)"


# -- image-to-image ------------------------------------------------------------------------------------


@LAYOUTS.register
def aligned() -> DataLayout:
    """pix2pix: ``ROOT/SPLIT/*``, each file A | B side by side (facades, maps, edges2shoes ...)."""
    return DataLayout(
        lambda a: AlignedDataset(a.root, a.split, a.geometry, max_images=a.max_images),
        paired=True,
        targets=True,
    )


@LAYOUTS.register
def paired() -> DataLayout:
    """``ROOT/SPLIT/{A,B}`` or ``ROOT/{A,B}/SPLIT`` (flat ``ROOT/{A,B}``: no splits, warned), matched by name."""
    return DataLayout(
        lambda a: PairedFolderDataset(a.root, a.split, a.geometry, max_images=a.max_images),
        paired=True,
        targets=True,
    )


@LAYOUTS.register
def unaligned() -> DataLayout:
    """CycleGAN: ``ROOT/SPLITA`` and ``ROOT/SPLITB`` with unrelated images."""
    return DataLayout(
        lambda a: UnalignedDataset(a.root, a.split, a.geometry, max_images=a.max_images), targets=True
    )


@LAYOUTS.register
def synthetic_paired() -> DataLayout:
    """Built-in label maps -> rendered scenes, generated on the fly."""
    return DataLayout(
        lambda a: SyntheticPairedDataset(a.count, a.synthetic_size, a.geometry, split=a.split),
        paired=True,
        targets=True,
        needs_root=False,
    )


@LAYOUTS.register
def synthetic_unpaired() -> DataLayout:
    """Built-in warm circles <-> cool squares, generated on the fly."""
    return DataLayout(
        lambda a: SyntheticUnpairedDataset(a.count, a.synthetic_size, a.geometry, split=a.split),
        targets=True,
        needs_root=False,
    )


def _rgb(geometry: Geometry) -> Geometry:
    """The geometry of the RGB images that colorization pairs are made from (the recipe's channels,
    1 -> 2, are those of the Lab pairs)."""
    return dataclasses.replace(geometry, in_channels=3, out_channels=3)


@LAYOUTS.register
def colorization() -> DataLayout:
    """Colorization: any colour photos under ``ROOT/SPLIT``, as Lab lightness -> colour pairs."""
    return DataLayout(
        lambda a: LabPairs(SingleFolderDataset(a.root / a.split, _rgb(a.geometry), max_images=a.max_images)),
        paired=True,
        targets=True,
        channels=(1, 2),
    )


@LAYOUTS.register
def synthetic_colorization() -> DataLayout:
    """Built-in rendered scenes (those of ``synthetic_paired``) as Lab lightness -> colour pairs."""
    return DataLayout(
        lambda a: LabPairs(
            SyntheticPairedDataset(a.count, a.synthetic_size, _rgb(a.geometry), split=a.split), key="b"
        ),
        paired=True,
        targets=True,
        needs_root=False,
        channels=(1, 2),
    )


@LAYOUTS.register
def single() -> DataLayout:
    """One folder of images (recursively) to translate: ``root`` itself, no targets."""
    return DataLayout(lambda a: SingleFolderDataset(a.root, a.geometry, max_images=a.max_images))


# -- labelled ------------------------------------------------------------------------------------------


def _fixed(names: Sequence[str]) -> Callable[[Sequence[str] | None], list[str]]:
    return lambda domains: list(names)


@LAYOUTS.register
def digits() -> DataLayout:
    """Built-in rendered digits 0-9 at ``crop_size`` pixels."""
    return DataLayout(
        lambda a: DigitsDataset(
            a.count,
            a.geometry.crop_size,
            split=a.split,
            seed=a.geometry.seed,
            channels=a.geometry.in_channels,
        ),
        needs_root=False,
        resolve_classes=_fixed(DIGIT_CLASSES),
    )


def _torchvision(name: str) -> Callable[[DatasetArgs], Items]:
    def build(a: DatasetArgs) -> Items:
        g = a.geometry
        return TorchvisionLabelled(
            name, a.root, a.split, size=g.crop_size, channels=g.in_channels, max_images=a.max_images
        )

    return build


@LAYOUTS.register
def mnist() -> DataLayout:
    """torchvision's MNIST under ``root`` (downloaded when missing), padded to 32 or resized."""
    return DataLayout(_torchvision("mnist"), resolve_classes=_fixed(DIGIT_CLASSES))


@LAYOUTS.register
def fashion_mnist() -> DataLayout:
    """torchvision's FashionMNIST under ``root`` (downloaded when missing), padded to 32 or resized."""
    return DataLayout(_torchvision("fashion_mnist"), resolve_classes=_fixed(FASHION_MNIST_CLASSES))


@LAYOUTS.register
def domains() -> DataLayout:
    """One folder per domain, ``ROOT/SPLIT/<domain>`` (two domains: also ``ROOT/SPLITA``, ``SPLITB``)."""
    return DataLayout(
        lambda a: DomainFolderDataset(
            a.root, a.split, a.geometry, domains=folder_domain_names(a.domains), max_images=a.max_images
        ),
        resolve_classes=folder_domain_names,
    )


@LAYOUTS.register
def synthetic_domains() -> DataLayout:
    """Built-in shapes painted red / green / blue (or the ``domains`` chosen), generated on the fly."""
    return DataLayout(
        lambda a: SyntheticDomainsDataset(
            a.count, a.synthetic_size, a.geometry, domains=synthetic_domain_names(a.domains), split=a.split
        ),
        needs_root=False,
        resolve_classes=synthetic_domain_names,
    )
