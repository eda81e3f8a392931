"""Paired pixel metrics against ground truth: SSIM, PSNR, L1. Inputs (N,C,H,W), any dtype; one value per image.

SSIM follows Wang et al. 2004 (and their reference MATLAB code): 11x11 Gaussian window with sigma 1.5,
K1 = 0.01, K2 = 0.03, statistics over 'valid' window positions (no padding), computed per channel and
averaged over channels and positions. Unlike the MATLAB script we do not downsample large images first.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import GandistillError

WINDOW = 11
SIGMA = 1.5
K1, K2 = 0.01, 0.03


def gaussian_window(size: int = WINDOW, sigma: float = SIGMA) -> torch.Tensor:
    """Normalised 2-D Gaussian (size, size), float64."""
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-coords.square() / (2 * sigma * sigma))
    g = g / g.sum()
    return g[:, None] * g[None, :]


def ssim(a: torch.Tensor, b: torch.Tensor, data_range: float = 255.0) -> torch.Tensor:
    """Structural similarity per image (N,), in [-1, 1]; 1 for identical images."""
    x, y = _pair(a, b, "SSIM")
    n, c, h, w = x.shape
    if min(h, w) < WINDOW:
        raise GandistillError(f"SSIM needs images of at least {WINDOW}x{WINDOW} pixels, got {h}x{w}")
    window = gaussian_window().to(x.device).expand(c, 1, WINDOW, WINDOW)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, window, groups=c)  # depthwise: each channel on its own

    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x.square()
    var_y = blur(y * y) - mu_y.square()
    cov = blur(x * y) - mu_x * mu_y
    num = (2 * mu_x * mu_y + c1) * (2 * cov + c2)
    den = (mu_x.square() + mu_y.square() + c1) * (var_x + var_y + c2)
    return (num / den).mean(dim=(1, 2, 3))


def psnr(a: torch.Tensor, b: torch.Tensor, data_range: float = 255.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image (N,); +inf for identical images."""
    x, y = _pair(a, b, "PSNR")
    mse = (x - y).square().mean(dim=(1, 2, 3))
    return 10 * torch.log10(data_range ** 2 / mse)  # mse == 0 gives +inf, as it should


def l1(a: torch.Tensor, b: torch.Tensor, data_range: float = 255.0) -> torch.Tensor:
    """Mean absolute difference per image (N,), as a fraction of ``data_range`` (so in [0, 1])."""
    x, y = _pair(a, b, "L1")
    return (x - y).abs().mean(dim=(1, 2, 3)) / data_range


def _pair(a: torch.Tensor, b: torch.Tensor, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    if a.shape != b.shape or a.ndim != 4:
        raise GandistillError(f"{name} needs two image batches of equal shape (N,C,H,W), got {tuple(a.shape)} and "
                              f"{tuple(b.shape)}; resize generated images to the ground-truth size first")
    return a.double(), b.double()
