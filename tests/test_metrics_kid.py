"""KID: unbiasedness of the MMD^2 estimator and agreement with a direct formula (no Inception needed)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gandistill.errors import GandistillError
from gandistill.metrics.kid import kid_from_features, mmd2_biased, mmd2_unbiased


def _direct_mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Textbook U-statistic with explicit loops over pairs, kernel (x.y/d + 1)^3."""
    m, d = x.shape
    k = lambda a, b: (a @ b / d + 1) ** 3
    kxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    kyy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    kxy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return kxx + kyy - 2 * kxy


def test_mmd2_unbiased_matches_direct_formula():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(9, 5)), rng.normal(0.3, 1.2, size=(9, 5))
    got = mmd2_unbiased(torch.from_numpy(x), torch.from_numpy(y))
    assert got == pytest.approx(_direct_mmd2_unbiased(x, y), rel=1e-5, abs=1e-6)


def test_unbiased_estimator_has_zero_mean_for_same_distribution():
    # Two independent samples of one Gaussian: E[MMD^2_u] = 0, while the biased estimator is clearly > 0.
    g = torch.Generator().manual_seed(0)
    reps, m, d = 1500, 10, 8
    unbiased, biased = [], []
    for _ in range(reps):
        x = torch.randn(m, d, generator=g, dtype=torch.float64)
        y = torch.randn(m, d, generator=g, dtype=torch.float64)
        unbiased.append(mmd2_unbiased(x, y))
        biased.append(mmd2_biased(x, y))
    u, b = np.asarray(unbiased), np.asarray(biased)
    stderr = u.std() / np.sqrt(reps)
    assert abs(u.mean()) < 4 * stderr, (u.mean(), stderr)
    assert b.mean() > 20 * (b.std() / np.sqrt(reps))
    assert b.mean() > 10 * abs(u.mean())


def test_kid_detects_shift_and_reports_std():
    g = torch.Generator().manual_seed(1)
    real = torch.rand(80, 32, generator=g)
    same = torch.rand(80, 32, generator=g)
    shifted = torch.rand(80, 32, generator=g) + 0.5
    k_same = kid_from_features(real, same, num_subsets=20, max_subset_size=40)
    k_shift = kid_from_features(real, shifted, num_subsets=20, max_subset_size=40)
    assert k_shift.mean > 10 * abs(k_same.mean)
    assert k_shift.std > 0 and k_shift.subset_size == 40 and k_shift.num_subsets == 20
    # Same seed, same answer.
    assert kid_from_features(real, shifted, num_subsets=20, max_subset_size=40) == k_shift


def test_kid_needs_two_images():
    with pytest.raises(GandistillError, match="at least 2"):
        kid_from_features(torch.rand(1, 4), torch.rand(5, 4))
