"""Fréchet Inception Distance without scipy.

FID = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr sqrt(S1 S2).
S1 S2 is not symmetric, but it is similar to the symmetric PSD matrix sqrt(S1) S2 sqrt(S1)
(same eigenvalues), so tr sqrt(S1 S2) = sum_i sqrt(lambda_i(sqrt(S1) S2 sqrt(S1))): two
``torch.linalg.eigh`` calls in float64, tiny negative eigenvalues from round-off clipped to 0.
This is the exact value scipy.linalg.sqrtm approximates iteratively (and which it can get
wrong, with an imaginary part, for the rank-deficient covariances of small sample sets).

From raw features with fewer samples than dimensions we use an exact shortcut: with centred
features A1 (n1 x d), A2 (n2 x d), S_k = A_k^T A_k / (n_k - 1), the non-zero eigenvalues of S1 S2
are the squared singular values of B = A1 A2^T / sqrt((n1-1)(n2-1)), so tr sqrt(S1 S2) = ||B||_*.
"""
from __future__ import annotations

import torch

from ..errors import GandistillError


def feature_stats(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (d,) and unbiased covariance (d,d), float64."""
    f = _check(features, "features")
    mu = f.mean(0)
    centred = f - mu
    return mu, centred.T @ centred / (f.shape[0] - 1)


def fid_from_stats(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor) -> float:
    """FID between two Gaussians given by mean and covariance."""
    mu1, mu2 = mu1.double(), mu2.double()
    sigma1, sigma2 = sigma1.double(), sigma2.double()
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise GandistillError(f"FID statistics have different shapes: {tuple(sigma1.shape)} vs {tuple(sigma2.shape)}; "
                              "both sets must use the same feature extractor")
    root1 = _psd_sqrt(sigma1)
    middle = root1 @ sigma2 @ root1
    eig = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp_min(0)
    trace_sqrt = eig.sqrt().sum()
    value = (mu1 - mu2).square().sum() + sigma1.trace() + sigma2.trace() - 2 * trace_sqrt
    return float(value.clamp_min(0))


def fid_from_features(features1: torch.Tensor, features2: torch.Tensor) -> float:
    """FID between two feature sets (N,d); exact low-rank path when a set is smaller than d."""
    f1, f2 = _check(features1, "features1"), _check(features2, "features2")
    if f1.shape[1] != f2.shape[1]:
        raise GandistillError(f"feature dims differ ({f1.shape[1]} vs {f2.shape[1]}); use one extractor for both sets")
    d = f1.shape[1]
    if min(f1.shape[0], f2.shape[0]) > d:
        return fid_from_stats(*feature_stats(f1), *feature_stats(f2))
    mu1, mu2 = f1.mean(0), f2.mean(0)
    a1, a2 = f1 - mu1, f2 - mu2
    n1, n2 = f1.shape[0] - 1, f2.shape[0] - 1
    trace1 = a1.square().sum() / n1
    trace2 = a2.square().sum() / n2
    cross = (a1 @ a2.T) / (n1 * n2) ** 0.5
    trace_sqrt = torch.linalg.svdvals(cross).sum()
    value = (mu1 - mu2).square().sum() + trace1 + trace2 - 2 * trace_sqrt
    return float(value.clamp_min(0))


def _psd_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    eig, vec = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (vec * eig.clamp_min(0).sqrt()) @ vec.T


def _check(features: torch.Tensor, name: str) -> torch.Tensor:
    if features.ndim != 2 or features.shape[0] < 2:
        raise GandistillError(f"{name}: FID needs at least 2 feature vectors of shape (N, d), got {tuple(features.shape)}; "
                              "evaluate more images")
    return features.double()
