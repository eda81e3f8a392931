"""Tensor ↔ uint8 conversion and PNG sample grids."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..io.atomic import atomic_path


def to_uint8(img: torch.Tensor) -> torch.Tensor:
    """[-1, 1] float → uint8 with rounding (the quantisation every saved or evaluated image gets)."""
    return (img.detach().float() * 127.5 + 128).clamp(0, 255).to(torch.uint8)


def to_float(img: torch.Tensor) -> torch.Tensor:
    """uint8 → float in [-1, 1]."""
    return img.float() / 127.5 - 1.0


def make_grid(images: torch.Tensor, nrow: int | None = None, pad: int = 1) -> np.ndarray:
    """[N, C, H, W] float in [-1,1] (or uint8) → HWC uint8 grid with ``nrow`` images per row."""
    if images.dtype != torch.uint8:
        images = to_uint8(images)
    n, c, h, w = images.shape
    if c == 1:
        images = images.expand(-1, 3, -1, -1)
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    grid = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad, 3), 255, np.uint8)
    arr = images.permute(0, 2, 3, 1).cpu().numpy()
    for i in range(n):
        r, col = divmod(i, nrow)
        y, x = pad + r * (h + pad), pad + col * (w + pad)
        grid[y:y + h, x:x + w] = arr[i]
    return grid


def save_image(array: np.ndarray, path: str | Path, scale: int = 1) -> None:
    img = Image.fromarray(array)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG")


def save_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None, scale: int = 1) -> None:
    save_image(make_grid(images, nrow), path, scale)
