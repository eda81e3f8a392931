"""Tensor ↔ uint8 conversion and PNG sample grids (optionally with row and column labels)."""
from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

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


@functools.lru_cache(maxsize=8)
def font(size: int = 13) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's built-in font at ``size`` px (scalable since Pillow 10.1; the fixed bitmap font before)."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def text_size(draw: ImageDraw.ImageDraw, text: str, fnt) -> tuple[int, int]:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=fnt)
    return right - left, bottom - top


def _fit(draw: ImageDraw.ImageDraw, text: str, fnt, width: int) -> str:
    """``text`` shortened with an ellipsis until it is at most ``width`` pixels wide."""
    if text_size(draw, text, fnt)[0] <= width:
        return text
    while len(text) > 1 and text_size(draw, text + "…", fnt)[0] > width:
        text = text[:-1]
    return text + "…"


def labelled_grid(rows: Sequence[torch.Tensor], labels: Sequence[str], title: str = "", scale: int = 1,
                  pad: int = 1, col_labels: Sequence[str] = ()) -> np.ndarray:
    """Rows of images ([N_i, C, H, W] each, [-1, 1] or uint8), enlarged ``scale`` times (nearest), as one HWC
    uint8 picture: a label left of every row, optionally a label above every column (shortened with an
    ellipsis when wider than its tile) and a title line on top. The one labelled-grid helper of the package."""
    if len(rows) != len(labels):
        raise ValueError(f"{len(rows)} rows but {len(labels)} labels")
    n = max(len(r) for r in rows)
    h, w = rows[0].shape[-2:]
    fnt = font(int(min(16, max(11, h * scale // 5))))
    blocks = []
    for r in rows:
        img = Image.fromarray(make_grid(r, nrow=n, pad=pad))
        blocks.append(img.resize((img.width * scale, img.height * scale), Image.NEAREST) if scale > 1 else img)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    line_h = text_size(probe, "Hg(y)", fnt)[1]
    label_w = max((text_size(probe, t, fnt)[0] for t in labels), default=0) + 10 if any(labels) else 0
    title_h = line_h + 10 if title else 0
    cols_h = line_h + 8 if col_labels else 0
    width = label_w + max(b.width for b in blocks)
    width = max(width, text_size(probe, title, fnt)[0] + 10) if title else width
    canvas = Image.new("RGB", (width, title_h + cols_h + sum(b.height for b in blocks)), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    if title:
        draw.text((5, 4), title, fill=(0, 0, 0), font=fnt)
    for c, text in enumerate(col_labels[:n]):
        text = _fit(draw, text, fnt, (w + pad) * scale - 2)
        tw, _ = text_size(draw, text, fnt)
        draw.text((label_w + (pad + c * (w + pad) + w / 2) * scale - tw / 2, title_h + 3), text, fill=(0, 0, 0),
                  font=fnt)
    y = title_h + cols_h
    for text, b in zip(labels, blocks):
        canvas.paste(b, (label_w, y))
        tw, th = text_size(draw, text, fnt)
        draw.text((label_w - 5 - tw, y + (b.height - th) / 2 - 2), text, fill=(0, 0, 0), font=fnt)
        y += b.height
    return np.asarray(canvas)


def save_labelled_grid(rows: Sequence[torch.Tensor], labels: Sequence[str], path: str | Path, title: str = "",
                       scale: int = 1, col_labels: Sequence[str] = ()) -> None:
    """:func:`labelled_grid` written as a PNG."""
    save_image(labelled_grid(rows, labels, title, scale, col_labels=col_labels), path)
