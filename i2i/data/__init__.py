"""Data: image I/O, the registered data layouts and :func:`build_dataset` (their one front door), the
:class:`Geometry` every dataset takes, preprocessing, built-in synthetic data and downloads of the
published datasets.

Names are resolved lazily (as in :mod:`i2i`), so reading and writing images does not import torch or
albumentations: translating with an exported model starts in a fraction of a second.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from i2i.lazy import lazy_attributes

_PUBLIC = {
    "i2i.data.datasets": ("AlignedDataset", "PairedFolderDataset", "SingleFolderDataset", "UnalignedDataset"),
    "i2i.data.download": ("DATASETS", "DownloadResult", "download_dataset", "find_dataset"),
    "i2i.data.geometry": ("Geometry",),
    "i2i.data.io": (
        "IMAGE_EXTENSIONS",
        "ImageReadError",
        "convert_channels",
        "list_images",
        "read_image",
        "to_tensor",
        "to_uint8",
        "write_image",
    ),
    "i2i.data.layouts": ("LAYOUTS", "DataLayout", "build_dataset", "data_layout"),
    "i2i.data.synthetic": (
        "SyntheticPairedDataset",
        "SyntheticUnpairedDataset",
        "synthetic_domain_image",
        "synthetic_geometry",
        "synthetic_pair",
        "write_synthetic_folder",
    ),
    "i2i.data.transforms": ("PREPROCESS_MODES", "PairedTransform", "Preprocess"),
}

__all__ = [
    "DATASETS",
    "IMAGE_EXTENSIONS",
    "LAYOUTS",
    "PREPROCESS_MODES",
    "AlignedDataset",
    "DataLayout",
    "DownloadResult",
    "Geometry",
    "ImageReadError",
    "PairedFolderDataset",
    "PairedTransform",
    "Preprocess",
    "SingleFolderDataset",
    "SyntheticPairedDataset",
    "SyntheticUnpairedDataset",
    "UnalignedDataset",
    "build_dataset",
    "convert_channels",
    "data_layout",
    "download_dataset",
    "find_dataset",
    "list_images",
    "read_image",
    "synthetic_domain_image",
    "synthetic_geometry",
    "synthetic_pair",
    "to_tensor",
    "to_uint8",
    "write_image",
    "write_synthetic_folder",
]

if TYPE_CHECKING:
    from i2i.data.datasets import AlignedDataset, PairedFolderDataset, SingleFolderDataset, UnalignedDataset
    from i2i.data.download import DATASETS, DownloadResult, download_dataset, find_dataset
    from i2i.data.geometry import Geometry
    from i2i.data.io import (
        IMAGE_EXTENSIONS,
        ImageReadError,
        convert_channels,
        list_images,
        read_image,
        to_tensor,
        to_uint8,
        write_image,
    )
    from i2i.data.layouts import LAYOUTS, DataLayout, build_dataset, data_layout
    from i2i.data.synthetic import (
        SyntheticPairedDataset,
        SyntheticUnpairedDataset,
        synthetic_domain_image,
        synthetic_geometry,
        synthetic_pair,
        write_synthetic_folder,
    )
    from i2i.data.transforms import PREPROCESS_MODES, PairedTransform, Preprocess


__getattr__ = lazy_attributes(__name__, _PUBLIC)
