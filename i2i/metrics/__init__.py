"""Evaluation: FID and KID (FID Inception features), paired PSNR / SSIM / L1, ``i2i eval`` and run reports."""

from __future__ import annotations

from i2i.metrics.fid import (
    DistributionScores,
    distribution_scores,
    extract_features,
    feature_statistics,
    fid_from_features,
    frechet_distance,
    kid_from_features,
    mmd2_unbiased,
    polynomial_kernel,
)
from i2i.metrics.inception import (
    RANDOM_WEIGHTS,
    FIDInceptionV3,
    InceptionWeightsError,
    load_fid_inception,
    resolve_inception_weights,
)
from i2i.metrics.paired import PairedAccumulator, PairedScores, l1, psnr, ssim

__all__ = [
    "RANDOM_WEIGHTS",
    "DistributionScores",
    "FIDInceptionV3",
    "InceptionWeightsError",
    "PairedAccumulator",
    "PairedScores",
    "distribution_scores",
    "extract_features",
    "feature_statistics",
    "fid_from_features",
    "frechet_distance",
    "kid_from_features",
    "l1",
    "load_fid_inception",
    "mmd2_unbiased",
    "polynomial_kernel",
    "psnr",
    "resolve_inception_weights",
    "ssim",
]
