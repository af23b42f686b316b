"""Data: image I/O, datasets in the pix2pix / CycleGAN layouts, preprocessing, built-in synthetic data and
downloads of the published datasets."""

from __future__ import annotations

from i2i.data.datasets import (
    LAYOUTS,
    AlignedDataset,
    Layout,
    PairedFolderDataset,
    SingleFolderDataset,
    UnalignedDataset,
    build_dataset,
)
from i2i.data.download import DATASETS, DownloadResult, download_dataset, find_dataset
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
from i2i.data.synthetic import (
    SyntheticPairedDataset,
    SyntheticUnpairedDataset,
    synthetic_domain_image,
    synthetic_pair,
    write_synthetic_folder,
)
from i2i.data.transforms import PREPROCESS_MODES, PairedTransform, Preprocess

__all__ = [
    "DATASETS",
    "IMAGE_EXTENSIONS",
    "LAYOUTS",
    "PREPROCESS_MODES",
    "AlignedDataset",
    "DownloadResult",
    "ImageReadError",
    "Layout",
    "PairedFolderDataset",
    "PairedTransform",
    "Preprocess",
    "SingleFolderDataset",
    "SyntheticPairedDataset",
    "SyntheticUnpairedDataset",
    "UnalignedDataset",
    "build_dataset",
    "convert_channels",
    "download_dataset",
    "find_dataset",
    "list_images",
    "read_image",
    "synthetic_domain_image",
    "synthetic_pair",
    "to_tensor",
    "to_uint8",
    "write_image",
    "write_synthetic_folder",
]
