"""Kernel Inception Distance (Bińkowski et al. 2018) with NVlabs' subset protocol.

Per subset: m = min(n_real, n_gen, max_subset_size) vectors drawn without replacement from each set,
unbiased MMD^2 with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3:

  MMD^2_u = sum_{i != j} [k(x_i,x_j) + k(y_i,y_j)] / (m (m-1)) - 2 sum_{i,j} k(x_i,y_j) / m^2

KID is the mean over ``num_subsets`` subsets, reported with the standard deviation over subsets.
When both sets have exactly m vectors every subset is the whole of both sets, the subsets do not vary
and the standard deviation is not a spread at all (0 or round-off): it is reported as None, with a
reason in ``std_note``. Unbiased: it can be slightly negative when the two sets come from one distribution.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from ..errors import GandistillError

NUM_SUBSETS = 100
MAX_SUBSET_SIZE = 1000


class KID(NamedTuple):
    mean: float
    std: float | None  # None when the subsets cannot differ (see std_note)
    subset_size: int
    num_subsets: int
    std_note: str = ""


def polynomial_kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(x.y/d + 1)^3; float32 products, float64 result (sums of ~1e6 kernel values need the precision)."""
    d = x.shape[1]
    return (x.float() @ y.float().T).double().div(d).add(1).pow(3)


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor) -> float:
    """Unbiased MMD^2 between two equally sized sets (m, d): diagonal terms of k(x,x), k(y,y) excluded."""
    m = x.shape[0]
    if y.shape[0] != m or m < 2:
        raise GandistillError(f"unbiased MMD needs two sets of equal size >= 2, got {x.shape[0]} and {y.shape[0]}")
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    within = (kxx.sum() - kxx.diagonal().sum() + kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
    return float(within - 2 * kxy.sum() / (m * m))


def mmd2_biased(x: torch.Tensor, y: torch.Tensor) -> float:
    """Biased (V-statistic) MMD^2, diagonal included: always >= 0, positive bias ~ 1/m. For comparison only."""
    return float(polynomial_kernel(x, x).mean() + polynomial_kernel(y, y).mean() - 2 * polynomial_kernel(x, y).mean())


def kid_from_features(real: torch.Tensor, gen: torch.Tensor, num_subsets: int = NUM_SUBSETS,
                      max_subset_size: int = MAX_SUBSET_SIZE, seed: int = 0) -> KID:
    """KID mean and std over random subsets (NVlabs protocol: 100 subsets of at most 1000)."""
    if real.ndim != 2 or gen.ndim != 2 or real.shape[1] != gen.shape[1]:
        raise GandistillError(f"KID needs two (N, d) feature sets with equal d, got {tuple(real.shape)} and {tuple(gen.shape)}")
    m = min(real.shape[0], gen.shape[0], max_subset_size)
    if m < 2:
        raise GandistillError(f"KID needs at least 2 images in each set, got {real.shape[0]} real and {gen.shape[0]} generated")
    rng = np.random.default_rng(seed)  # fixed seed: the same sets give the same KID
    values = []
    for _ in range(num_subsets):
        x = gen[torch.from_numpy(rng.choice(gen.shape[0], m, replace=False))]
        y = real[torch.from_numpy(rng.choice(real.shape[0], m, replace=False))]
        values.append(mmd2_unbiased(x, y))
    arr = np.asarray(values)
    if m == real.shape[0] == gen.shape[0]:
        note = (f"null: both sets have {m} images, so every subset of {m} is the whole set and the subsets do not "
                f"vary; pass a smaller subset size (--kid-subset-size < {m}) for a spread")
        return KID(float(arr.mean()), None, m, num_subsets, note)
    return KID(float(arr.mean()), float(arr.std()), m, num_subsets)
