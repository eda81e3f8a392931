"""FID: closed-form checks of the sqrtm-free formula, and behaviour on real Inception features."""
from __future__ import annotations

import time

import pytest
import torch

from gandistill.errors import GandistillError
from gandistill.metrics.fid import feature_stats, fid_from_features, fid_from_stats
from gandistill.metrics.kid import kid_from_features
from metrics_support import add_noise, blur, inception_or_skip, synthetic_images

N_IMAGES = 16  # small on purpose: 8 sets x 16 images keep Inception on a 2-core CPU around 15 s
NOISE = (8.0, 24.0, 64.0)
BLUR = (1.0, 2.0, 4.0)


def test_fid_diagonal_gaussians_closed_form():
    # For diagonal covariances, tr sqrt(S1 S2) = sum sqrt(a_i b_i).
    g = torch.Generator().manual_seed(0)
    d = 16
    mu1, mu2 = torch.randn(d, generator=g, dtype=torch.float64), torch.randn(d, generator=g, dtype=torch.float64)
    a, b = torch.rand(d, generator=g, dtype=torch.float64) + 0.1, torch.rand(d, generator=g, dtype=torch.float64) + 0.1
    expected = (mu1 - mu2).square().sum() + (a + b - 2 * (a * b).sqrt()).sum()
    got = fid_from_stats(mu1, torch.diag(a), mu2, torch.diag(b))
    assert got == pytest.approx(float(expected), rel=1e-10)


def test_fid_nondiagonal_matches_commuting_case_rotated():
    # Rotating both Gaussians by the same orthogonal Q leaves FID unchanged.
    g = torch.Generator().manual_seed(1)
    d = 12
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    a, b = torch.rand(d, generator=g, dtype=torch.float64) + 0.1, torch.rand(d, generator=g, dtype=torch.float64) + 0.1
    mu1, mu2 = torch.randn(d, generator=g, dtype=torch.float64), torch.randn(d, generator=g, dtype=torch.float64)
    plain = fid_from_stats(mu1, torch.diag(a), mu2, torch.diag(b))
    rotated = fid_from_stats(q @ mu1, q @ torch.diag(a) @ q.T, q @ mu2, q @ torch.diag(b) @ q.T)
    assert rotated == pytest.approx(plain, rel=1e-9)


@pytest.mark.parametrize("n1,n2,d", [(20, 30, 64), (200, 150, 16)])
def test_low_rank_path_matches_eigh_path(n1, n2, d):
    g = torch.Generator().manual_seed(2)
    f1 = torch.randn(n1, d, generator=g, dtype=torch.float64)
    f2 = torch.randn(n2, d, generator=g, dtype=torch.float64) * 1.3 + 0.2
    via_stats = fid_from_stats(*feature_stats(f1), *feature_stats(f2))
    # rel 1e-6: the eigh path takes square roots of round-off-sized eigenvalues when n < d
    assert fid_from_features(f1, f2) == pytest.approx(via_stats, rel=1e-6)


def test_fid_needs_two_samples():
    with pytest.raises(GandistillError, match="at least 2"):
        fid_from_features(torch.zeros(1, 8), torch.zeros(5, 8))


@pytest.fixture(scope="module")
def inception_sets():
    ext = inception_or_skip()
    ref = synthetic_images(N_IMAGES, seed=10)
    other = synthetic_images(N_IMAGES, seed=11)
    batches = [other] + [add_noise(other, s) for s in NOISE] + [blur(other, s) for s in BLUR]
    start, cpu = time.perf_counter(), time.process_time()
    ref_f = ext(ref)
    feats = ext(torch.cat(batches))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    n = N_IMAGES * (len(batches) + 1)
    print(f"\nInception features, {torch.get_num_threads()} threads: {n} images in {seconds:.1f} s wall "
          f"({1000 * seconds / n:.0f} s per 1,000 images; {1000 * cpu / n:.0f} CPU-s per 1,000)")
    chunks = feats.split(N_IMAGES)
    return ref_f, chunks[0], chunks[1:1 + len(NOISE)], chunks[1 + len(NOISE):]


@pytest.mark.slow
def test_inception_features_shape(inception_sets):
    ref_f, clean, _, _ = inception_sets
    assert ref_f.shape == clean.shape == (N_IMAGES, 2048)
    assert torch.isfinite(ref_f).all() and (ref_f >= 0).all()  # pool3 after ReLU


@pytest.mark.slow
def test_fid_of_set_with_itself_is_zero(inception_sets):
    ref_f, clean, _, _ = inception_sets
    scale = fid_from_features(ref_f, clean)
    assert scale > 1.0
    assert fid_from_features(ref_f, ref_f) < 1e-3 * scale
    # The eigh (stats) path too; on 256 of the 2048 dims, as a 2048-d float64 eigh costs seconds on 2 cores.
    part = ref_f[:, :256]
    assert fid_from_stats(*feature_stats(part), *feature_stats(part)) < 1e-3 * fid_from_features(part, clean[:, :256])


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["noise", "blur"])
def test_fid_and_kid_grow_with_corruption(inception_sets, kind):
    ref_f, clean, noisy, blurred = inception_sets
    levels = [clean] + list(noisy if kind == "noise" else blurred)
    fids = [fid_from_features(ref_f, f) for f in levels]
    kids = [kid_from_features(ref_f, f, num_subsets=50).mean for f in levels]
    assert all(a < b for a, b in zip(fids, fids[1:])), fids
    assert all(a < b for a, b in zip(kids, kids[1:])), kids
