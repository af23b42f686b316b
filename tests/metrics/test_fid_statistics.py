"""FID / KID statistics against direct numpy computations on fixed features."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from i2i.metrics import fid as fid_module
from i2i.metrics.fid import (
    distribution_scores,
    feature_statistics,
    fid_from_features,
    frechet_distance,
    kid_from_features,
    mmd2_unbiased,
    polynomial_kernel,
)


def _features(n: int, d: int, seed: int, shift: float = 0.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d)) + shift


def test_feature_statistics_are_mean_and_unbiased_covariance() -> None:
    x = _features(7, 3, seed=1)
    mu, sigma = feature_statistics(x)
    centred = x - x.sum(axis=0) / 7
    expected = np.zeros((3, 3))
    for row in centred:  # sum of outer products / (n - 1)
        expected += np.outer(row, row)
    np.testing.assert_allclose(mu, x.sum(axis=0) / 7, rtol=1e-12)
    np.testing.assert_allclose(sigma, expected / 6, rtol=1e-12)


def test_feature_statistics_needs_two_rows() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        feature_statistics(np.zeros((1, 4)))


def test_frechet_distance_of_diagonal_gaussians_is_closed_form() -> None:
    # For diagonal covariances sqrt(S1 S2) is diagonal: FID = |dmu|^2 + sum (s1 + s2 - 2 sqrt(s1 s2)).
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    s1, s2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    # |dmu|^2 = 1 + 0 + 4 = 5; traces: (1+4-4) + (4+1-4) + (9+1-6) = 1 + 1 + 4 = 6
    assert frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(11.0, abs=1e-9)


def test_frechet_distance_matches_eigenvalue_computation() -> None:
    a, b = _features(50, 6, seed=2), _features(40, 6, seed=3, shift=0.5) @ _features(6, 6, seed=4)
    mu1, s1 = a.mean(0), np.cov(a, rowvar=False)
    mu2, s2 = b.mean(0), np.cov(b, rowvar=False)
    # Tr sqrt(S1 S2) = sum sqrt(eig(S1^1/2 S2 S1^1/2)), a symmetric PSD matrix: no sqrtm involved.
    w, v = np.linalg.eigh(s1)
    root1 = v @ np.diag(np.sqrt(w)) @ v.T
    tr_covmean = np.sqrt(np.clip(np.linalg.eigvalsh(root1 @ s2 @ root1), 0, None)).sum()
    expected = ((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_covmean
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)
    assert fid_from_features(a, b) == pytest.approx(expected, rel=1e-8)


def test_fid_of_a_set_with_itself_is_zero() -> None:
    a = _features(30, 5, seed=5)
    assert fid_from_features(a, a) == pytest.approx(0.0, abs=1e-8)


def test_singular_product_retries_with_eps_on_the_diagonals(monkeypatch: pytest.MonkeyPatch) -> None:
    real_sqrtm = fid_module.linalg.sqrtm
    calls: list[np.ndarray] = []

    def sqrtm_failing_once(matrix: np.ndarray) -> np.ndarray:
        calls.append(matrix)
        return np.full_like(matrix, np.nan) if len(calls) == 1 else real_sqrtm(matrix)

    monkeypatch.setattr(fid_module.linalg, "sqrtm", sqrtm_failing_once)
    s1, s2 = np.diag([1.0, 0.0]), np.diag([0.0, 4.0])  # S1 S2 = 0: singular
    value = frechet_distance(np.zeros(2), s1, np.zeros(2), s2, eps=0.5)
    np.testing.assert_allclose(calls[1], np.diag([1.5 * 0.5, 0.5 * 4.5]))
    # sqrt(diag(0.75, 2.25)) has trace sqrt(0.75) + 1.5
    assert value == pytest.approx(1.0 + 4.0 - 2 * (np.sqrt(0.75) + 1.5), abs=1e-12)
    assert len(calls) == 2


def test_small_imaginary_parts_are_dropped_large_ones_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    imaginary = {"value": 1e-6}
    monkeypatch.setattr(fid_module.linalg, "sqrtm", lambda m: np.eye(2) * (1.0 + 1j * imaginary["value"]))
    eye = np.eye(2)
    assert frechet_distance(np.zeros(2), eye, np.zeros(2), eye) == pytest.approx(0.0, abs=1e-12)
    imaginary["value"] = 0.1
    with pytest.raises(ValueError, match="imaginary"):
        frechet_distance(np.zeros(2), eye, np.zeros(2), eye)


def test_frechet_distance_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="shapes"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


def test_polynomial_kernel_is_cubic_of_scaled_dot_product() -> None:
    x, y = np.array([[1.0, 2.0]]), np.array([[3.0, -1.0], [0.0, 0.0]])
    # x.y / d + 1 = (3 - 2) / 2 + 1 = 1.5 -> 3.375 ; with the zero vector: 1
    np.testing.assert_allclose(polynomial_kernel(x, y), [[3.375, 1.0]])


def test_mmd2_unbiased_matches_a_loop_over_pairs() -> None:
    x, y = _features(4, 3, seed=6), _features(4, 3, seed=7, shift=1.0)

    def k(a: np.ndarray, b: np.ndarray) -> float:
        return float((a @ b / 3 + 1) ** 3)

    m = 4
    xx = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i, j in itertools.product(range(m), repeat=2)) / m**2
    assert mmd2_unbiased(x, y) == pytest.approx(xx + yy - 2 * xy, rel=1e-12)


def test_kid_uses_subsets_of_min_size_and_reports_population_std() -> None:
    f1, f2 = _features(6, 3, seed=8), _features(5, 3, seed=9, shift=0.3)
    mean, std = kid_from_features(f1, f2, num_subsets=3, subset_size=1000, seed=11)
    rng = np.random.RandomState(11)  # the same draws, by hand: subsets of min(1000, 6, 5) = 5
    values = []
    for _ in range(3):
        a = f1[rng.choice(6, 5, replace=False)]
        b = f2[rng.choice(5, 5, replace=False)]
        values.append(mmd2_unbiased(a, b))
    assert mean == pytest.approx(np.mean(values), rel=1e-12)
    assert std == pytest.approx(np.std(values), rel=1e-12)
    assert std > 0  # subsets of f1 differ, so the estimates do


def test_kid_separates_shifted_distributions() -> None:
    base = _features(60, 8, seed=10)
    same = kid_from_features(base, _features(60, 8, seed=12), num_subsets=10)[0]
    shifted = kid_from_features(base, _features(60, 8, seed=12, shift=1.0), num_subsets=10)[0]
    # unbiased: near 0 for equal distributions; a unit shift in 8 dims raises the MMD by far more
    assert abs(same) < 0.05 < shifted


def test_distribution_scores_bundle_fid_and_kid() -> None:
    a, b = _features(20, 4, seed=13), _features(25, 4, seed=14, shift=0.5)
    scores = distribution_scores(a, b)
    assert scores.fid == pytest.approx(fid_from_features(a, b))
    # subsets of half the smaller set, so that the std over subsets is informative
    assert (scores.kid, scores.kid_std) == pytest.approx(kid_from_features(a, b, subset_size=10))
    assert scores.kid_std > 0
    assert (scores.num_fake, scores.num_real) == (20, 25)


@pytest.mark.parametrize(
    ("n1", "n2", "d"), [(40, 50, 6), (5, 7, 20)]
)  # N > D (eigh route), N < D (svd route)
def test_exact_fid_equals_the_eigenvalue_formula(n1: int, n2: int, d: int) -> None:
    a, b = _features(n1, d, seed=15), _features(n2, d, seed=16, shift=0.3) * 1.5
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(s1)
    root1 = v @ np.diag(np.sqrt(np.clip(w, 0, None))) @ v.T
    tr_covmean = np.sqrt(np.clip(np.linalg.eigvalsh(root1 @ s2 @ root1), 0, None)).sum()
    expected = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_covmean
    # the reference takes sqrt of rounding noise (~1e-15) in the zero eigenvalues of a rank-deficient
    # product: ~1e-7 per eigenvalue, so 1e-5 absolute on a value of ~50
    assert fid_from_features(a, b) == pytest.approx(expected, rel=1e-8, abs=1e-5)


def test_exact_and_sqrtm_fid_agree_on_well_conditioned_sets() -> None:
    a, b = _features(200, 10, seed=17), _features(150, 10, seed=18, shift=0.2)
    assert fid_from_features(a, b, method="exact") == pytest.approx(
        fid_from_features(a, b, method="sqrtm"), rel=1e-9
    )
    with pytest.raises(ValueError, match="'exact' or 'sqrtm'"):
        fid_from_features(a, b, method="fast")
