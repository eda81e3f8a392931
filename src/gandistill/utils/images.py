"""Tensor ↔ uint8 conversion and PNG sample grids."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

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


def labelled_grid(rows: Sequence[torch.Tensor], labels: Sequence[str], title: str = "", scale: int = 1,
                  pad: int = 1) -> np.ndarray:
    """Rows of images ([N_i, C, H, W] each, [-1, 1] or uint8) as one HWC uint8 picture with a label left of
    every row and an optional title line on top (PIL's built-in font)."""
    from PIL import ImageDraw, ImageFont

    if len(rows) != len(labels):
        raise ValueError(f"{len(rows)} rows but {len(labels)} labels")
    font = ImageFont.load_default()
    n = max(len(r) for r in rows)
    blocks = []
    for r in rows:
        img = Image.fromarray(make_grid(r, nrow=n, pad=pad))
        blocks.append(img.resize((img.width * scale, img.height * scale), Image.NEAREST) if scale > 1 else img)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))

    def size(text: str) -> tuple[int, int]:
        x0, y0, x1, y1 = probe.textbbox((0, 0), text, font=font)
        return x1 - x0, y1 - y0

    label_w = max((size(t)[0] for t in labels), default=0) + 8
    title_h = size(title)[1] + 8 if title else 0
    width = label_w + max(b.width for b in blocks)
    width = max(width, size(title)[0] + 8) if title else width
    canvas = Image.new("RGB", (width, title_h + sum(b.height for b in blocks)), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    if title:
        draw.text((4, 4), title, fill=(0, 0, 0), font=font)
    y = title_h
    for text, b in zip(labels, blocks):
        canvas.paste(b, (label_w, y))
        draw.text((4, y + (b.height - size(text)[1]) // 2), text, fill=(0, 0, 0), font=font)
        y += b.height
    return np.asarray(canvas)


def save_labelled_grid(rows: Sequence[torch.Tensor], labels: Sequence[str], path: str | Path, title: str = "",
                       scale: int = 1) -> None:
    """:func:`labelled_grid` written as a PNG."""
    save_image(labelled_grid(rows, labels, title, scale), path)
