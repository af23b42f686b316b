"""FID and KID between two sets of images, from FID-Inception pool3 features.

- **FID** (Heusel et al., 2017): the Fréchet distance between Gaussians fitted to the two feature
  sets, ``||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))`` in float64. :func:`frechet_distance`
  is pytorch-fid's procedure (``scipy.linalg.sqrtm``; when the product is singular, ``eps`` is added
  to both diagonals; a tiny imaginary part from rounding is dropped, a large one is an error);
  :func:`fid_from_features` by default gets the same trace exactly from a singular value
  decomposition, which is much faster and does not suffer from the singular product. Biased for small sets: with the
  120-140 test images of horse2zebra it is far above its large-sample value, so compare FIDs only at
  equal set sizes.
- **KID** (Bińkowski et al., 2018): the unbiased estimate of the squared MMD with the cubic polynomial
  kernel ``k(x, y) = (x.y / d + 1)^3``, averaged over random subsets as torch-fidelity does (100
  subsets of ``min(1000, n1, n2)`` features, fixed seed). It is unbiased, so small test sets give
  usable numbers; report its standard deviation over subsets with it.

Feature extraction uses :mod:`i2i.metrics.inception` (pytorch-fid's network and resize).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray
from scipy import linalg
from torch import nn

logger = logging.getLogger("i2i.metrics")

KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
KID_SEED = 2020  # torch-fidelity's default rng_seed

Array = NDArray[np.float64]


def feature_statistics(features: Array) -> tuple[Array, Array]:
    """Mean and (unbiased, ``n - 1``) covariance of ``features``.

    Shape:
        - Input: ``(N, D)`` with ``N >= 2``.
        - Output: ``(D,)`` and ``(D, D)``, float64.
    """
    feats = _as_features(features, "features")
    if feats.shape[0] < 2:
        raise ValueError(f"feature_statistics: need at least 2 feature vectors, got {feats.shape[0]}")
    return feats.mean(axis=0), np.cov(feats, rowvar=False)


def frechet_distance(mu1: Array, sigma1: Array, mu2: Array, sigma2: Array, *, eps: float = 1e-6) -> float:
    """Fréchet distance between ``N(mu1, sigma1)`` and ``N(mu2, sigma2)`` (pytorch-fid's recipe).

    Args:
        mu1, sigma1: Mean ``(D,)`` and covariance ``(D, D)`` of the first set.
        mu2, sigma2: Same for the second set.
        eps: Added to both covariance diagonals when ``sigma1 @ sigma2`` is too singular for
            ``sqrtm`` to return finite values (always the case when ``N < D``).

    Raises:
        ValueError: Shapes differ, or ``sqrtm`` leaves an imaginary diagonal part above ``1e-3``.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.size, mu1.size):
        raise ValueError(
            f"frechet_distance: shapes do not match: mu {mu1.shape} vs {mu2.shape}, "
            f"sigma {sigma1.shape} vs {sigma2.shape}"
        )
    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        logger.warning("FID: singular covariance product; adding %g to the diagonals", eps)
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        imaginary = np.abs(np.diagonal(covmean).imag).max()
        if imaginary > 1e-3:
            raise ValueError(f"frechet_distance: sqrtm left an imaginary component of {imaginary:.3g}")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def fid_from_features(features1: Array, features2: Array, *, method: str = "exact") -> float:
    """FID between two feature sets ``(N1, D)`` and ``(N2, D)``.

    Args:
        method: ``"exact"`` (default) computes ``Tr (S1 S2)^(1/2)`` without a matrix square root:
            the eigenvalues of ``S1 S2`` are the squared singular values of the centred cross product
            ``X1 X2^T / sqrt((N1 - 1)(N2 - 1))`` (or, for sets larger than ``D``, the eigenvalues of
            ``S1^(1/2) S2 S1^(1/2)``). Same number as ``"sqrtm"`` up to rounding where ``sqrtm`` is
            accurate, seconds instead of a minute for ``D = 2048``, and exact when ``N < D`` (the
            usual case for test sets), where ``S1 S2`` is singular and ``sqrtm`` is not reliable.
            ``"sqrtm"`` is pytorch-fid's procedure, :func:`frechet_distance`, step for step.
    """
    f1, f2 = _as_features(features1, "features1"), _as_features(features2, "features2")
    if method == "sqrtm":
        return frechet_distance(*feature_statistics(f1), *feature_statistics(f2))
    if method != "exact":
        raise ValueError(f"fid_from_features: method must be 'exact' or 'sqrtm', got {method!r}")
    if f1.shape[1] != f2.shape[1] or min(f1.shape[0], f2.shape[0]) < 2:
        raise ValueError(
            f"fid_from_features: need (N >= 2, D) features of one D, got {f1.shape} and {f2.shape}"
        )
    mu1, mu2 = f1.mean(axis=0), f2.mean(axis=0)
    x1, x2 = f1 - mu1, f2 - mu2
    n1, n2, dim = x1.shape[0], x2.shape[0], x1.shape[1]
    trace1, trace2 = (x1**2).sum() / (n1 - 1), (x2**2).sum() / (n2 - 1)
    if n1 * n2 <= dim * dim:
        singular = np.linalg.svd(x1 @ x2.T, compute_uv=False)
        tr_covmean = singular.sum() / np.sqrt((n1 - 1) * (n2 - 1))
    else:
        w, v = np.linalg.eigh(np.cov(f1, rowvar=False))
        root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
        product = root1 @ np.cov(f2, rowvar=False) @ root1
        tr_covmean = np.sqrt(np.clip(np.linalg.eigvalsh(product), 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + trace1 + trace2 - 2 * tr_covmean)


def polynomial_kernel(x: Array, y: Array) -> Array:
    """KID's kernel ``k(x, y) = (x . y / d + 1)^3`` for all pairs: ``(N, D), (M, D) -> (N, M)``."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: Array, y: Array) -> float:
    """Unbiased squared MMD of two equal-size samples with :func:`polynomial_kernel`.

    ``sum_{i != j} k(x_i, x_j) / (m (m - 1)) + sum_{i != j} k(y_i, y_j) / (m (m - 1))
    - 2 sum_{i, j} k(x_i, y_j) / m^2`` -- the ``"unbiased"`` estimator of Bińkowski et al. and
    torch-fidelity (the cross term keeps its diagonal). Can be slightly negative.

    Shape:
        - Input: ``(m, D)`` and ``(m, D)`` with ``m >= 2``.
    """
    m = x.shape[0]
    if y.shape[0] != m or m < 2:
        raise ValueError(
            f"mmd2_unbiased: need two samples of equal size >= 2, got {x.shape[0]} and {y.shape[0]}"
        )
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    off_diagonal = k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)
    return float(off_diagonal / (m * (m - 1)) - 2 * k_xy.sum() / m**2)


def kid_from_features(
    features1: Array,
    features2: Array,
    *,
    num_subsets: int = KID_SUBSETS,
    subset_size: int = KID_SUBSET_SIZE,
    seed: int = KID_SEED,
) -> tuple[float, float]:
    """KID mean and standard deviation over random subsets (torch-fidelity's procedure).

    Each subset draws ``min(subset_size, N1, N2)`` rows of each set without replacement (a fixed
    ``seed`` makes the numbers reproducible); the result is the mean and the population standard
    deviation of :func:`mmd2_unbiased` over ``num_subsets`` subsets.
    """
    f1, f2 = _as_features(features1, "features1"), _as_features(features2, "features2")
    if f1.shape[1] != f2.shape[1]:
        raise ValueError(f"kid_from_features: feature sizes differ: {f1.shape[1]} vs {f2.shape[1]}")
    size = min(subset_size, f1.shape[0], f2.shape[0])
    if size < 2:
        raise ValueError(
            f"kid_from_features: need at least 2 images per set, got {f1.shape[0]} and {f2.shape[0]}"
        )
    rng = np.random.RandomState(seed)
    mmds = np.empty(num_subsets)
    for i in range(num_subsets):
        x = f1[rng.choice(f1.shape[0], size, replace=False)]
        y = f2[rng.choice(f2.shape[0], size, replace=False)]
        mmds[i] = mmd2_unbiased(x, y)
    return float(mmds.mean()), float(mmds.std())


@dataclass(frozen=True)
class DistributionScores:
    """FID and KID between generated and real images, with the set sizes they came from."""

    fid: float
    kid: float
    kid_std: float
    num_fake: int
    num_real: int


def distribution_scores(
    fake_features: Array, real_features: Array, *, fid_method: str = "exact"
) -> DistributionScores:
    """FID (see :func:`fid_from_features` for ``fid_method``) and KID (mean, std) between feature sets.

    KID subsets hold ``min(1000, n // 2)`` images (``n`` the smaller set): with subsets of all ``n``
    images, as ``min(1000, n)`` gives for test sets under 1000 images, every subset is the whole set
    and the std is 0, which says nothing. The estimator is unbiased at any subset size, so the mean
    does not depend on this choice; the std describes subsets of half the set.
    """
    size = min(KID_SUBSET_SIZE, max(2, min(len(fake_features), len(real_features)) // 2))
    kid, kid_std = kid_from_features(fake_features, real_features, subset_size=size)
    return DistributionScores(
        fid=fid_from_features(fake_features, real_features, method=fid_method),
        kid=kid,
        kid_std=kid_std,
        num_fake=len(fake_features),
        num_real=len(real_features),
    )


@torch.no_grad()
def extract_features(
    net: nn.Module,
    images: Iterable[NDArray[np.uint8]],
    *,
    batch_size: int = 32,
    device: str | torch.device = "cpu",
) -> Array:
    """Inception features of uint8 images, batched; images may differ in size.

    Each image (``(H, W, C)`` uint8, ``C`` = 1, 3 or 4: gray is repeated to RGB, alpha dropped) is
    scaled to ``[0, 1]`` and resized to 299x299 on its own by the network, as pytorch-fid does for
    each image it reads.

    Returns:
        ``(N, 2048)`` float64 features.
    """
    if batch_size < 1:
        raise ValueError(f"extract_features: batch_size must be >= 1, got {batch_size}")
    chunks: list[Array] = []
    batch: list[torch.Tensor] = []

    def flush() -> None:
        out = torch.cat([net(x.to(device)) for x in _same_size_groups(batch)])
        chunks.append(out.double().cpu().numpy())
        batch.clear()

    for image in images:
        batch.append(_to_unit_tensor(image))
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    if not chunks:
        raise ValueError("extract_features: no images")
    return np.concatenate(chunks)


def _to_unit_tensor(image: NDArray[np.uint8]) -> torch.Tensor:
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ValueError(
            f"extract_features: expected uint8 (H, W[, C]) images, got {image.dtype} {image.shape}"
        )
    if image.ndim == 2:
        image = image[:, :, None]
    channels = image.shape[2]
    if channels == 1:
        image = np.repeat(image, 3, axis=2)
    elif channels == 4:
        image = image[:, :, :3]
    elif channels != 3:
        raise ValueError(f"extract_features: images need 1, 3 or 4 channels, got {channels}")
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float() / 255.0  # (3, H, W)


def _same_size_groups(batch: list[torch.Tensor]) -> list[torch.Tensor]:
    """Consecutive runs of equal-size images stacked to ``(b, 3, H, W)``, order kept."""
    groups: list[list[torch.Tensor]] = []
    for x in batch:
        if groups and groups[-1][0].shape == x.shape:
            groups[-1].append(x)
        else:
            groups.append([x])
    return [torch.stack(group) for group in groups]


def _as_features(features: Array, name: str) -> Array:
    feats = np.asarray(features, dtype=np.float64)
    if feats.ndim != 2:
        raise ValueError(f"{name}: expected (N, D) features, got shape {feats.shape}")
    return feats
