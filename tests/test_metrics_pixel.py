"""SSIM / PSNR / L1 against hand-computed values and a loop-based SSIM reference; diversity."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gandistill.errors import GandistillError
from gandistill.metrics.diversity import diversity, pairwise_diversity
from gandistill.metrics.pixel import gaussian_window, l1, psnr, ssim


def _reference_ssim(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """Wang et al. SSIM written out with loops: per channel, per valid 11x11 window, Gaussian-weighted moments."""
    w = np.exp(-((np.arange(11) - 5) ** 2) / (2 * 1.5 ** 2))
    w = np.outer(w, w)
    w /= w.sum()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    values = []
    for ch in range(a.shape[0]):
        for i in range(a.shape[1] - 10):
            for j in range(a.shape[2] - 10):
                pa, pb = a[ch, i:i + 11, j:j + 11], b[ch, i:i + 11, j:j + 11]
                mx, my = (w * pa).sum(), (w * pb).sum()
                vx, vy = (w * (pa - mx) ** 2).sum(), (w * (pb - my) ** 2).sum()
                cov = (w * (pa - mx) * (pb - my)).sum()
                values.append(((2 * mx * my + c1) * (2 * cov + c2)) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2)))
    return float(np.mean(values))


def _pair(seed: int = 0, shape=(2, 3, 16, 14)):
    g = torch.Generator().manual_seed(seed)
    a = torch.randint(0, 256, shape, generator=g, dtype=torch.uint8)
    noise = torch.randint(-40, 41, shape, generator=g)
    b = (a.int() + noise).clamp(0, 255).to(torch.uint8)
    return a, b


def test_gaussian_window_is_normalised_and_symmetric():
    w = gaussian_window()
    assert w.shape == (11, 11) and float(w.sum()) == pytest.approx(1.0)
    assert torch.allclose(w, w.T) and torch.allclose(w, w.flip(0))


def test_ssim_matches_loop_reference():
    a, b = _pair()
    got = ssim(a, b)
    for n in range(a.shape[0]):
        assert float(got[n]) == pytest.approx(_reference_ssim(a[n].double().numpy(), b[n].double().numpy()), abs=1e-10)


def test_ssim_identical_is_one_and_data_range_scales():
    a, b = _pair(1)
    assert torch.allclose(ssim(a, a), torch.ones(2, dtype=torch.float64))
    # Same images on a [0, 1] scale with data_range=1 give the same SSIM.
    assert torch.allclose(ssim(a / 255.0, b / 255.0, data_range=1.0), ssim(a, b))
    assert (ssim(a, b) < 1).all()


def test_psnr_and_l1_known_values():
    a = torch.full((1, 3, 12, 12), 100, dtype=torch.uint8)
    b = a + 5  # constant offset: MSE = 25
    assert float(psnr(a, b)) == pytest.approx(20 * math.log10(255 / 5))
    assert float(l1(a, b)) == pytest.approx(5 / 255)
    assert math.isinf(float(psnr(a, a))) and float(psnr(a, a)) > 0
    assert float(l1(a, a)) == 0.0
    # Half the pixels off by 10: MSE = 50.
    c = a.clone()
    c[..., :6] += 10
    assert float(psnr(a, c)) == pytest.approx(10 * math.log10(255 ** 2 / 50))


def test_shape_mismatch_and_tiny_images_are_user_errors():
    with pytest.raises(GandistillError, match="equal shape"):
        psnr(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 9))
    with pytest.raises(GandistillError, match="at least 11x11"):
        ssim(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))


def test_diversity_l1():
    same = torch.full((3, 3, 8, 8), 7, dtype=torch.uint8)
    assert pairwise_diversity(same) == 0.0
    levels = torch.stack([torch.full((3, 8, 8), v, dtype=torch.uint8) for v in (0, 51, 102)])
    # pairs: 51, 102, 51 -> mean 68 / 255
    assert pairwise_diversity(levels) == pytest.approx(68 / 255)
    out = diversity([same, levels])
    assert out["mean"] == pytest.approx(34 / 255) and out["inputs"] == 2
    with pytest.raises(GandistillError, match="at least 2 outputs"):
        pairwise_diversity(same[:1])
