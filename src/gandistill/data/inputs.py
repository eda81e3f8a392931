"""Inference inputs shared by ``translate``, ``gpd route``, the Python API and the demo: files and
folders → a file list, image files → one float batch."""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError
from .images import load_image, list_images, no_images_error, resize_square


def expand_inputs(paths: str | Path | Iterable[str | Path], kind: str = "image") -> list[Path]:
    """Files given directly, plus every image (or .wav for ``kind="audio"``) inside given folders, sorted."""
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    out: list[Path] = []
    for p in map(Path, items):
        if p.is_dir():
            found = sorted(p.rglob("*.wav")) if kind == "audio" else list_images(p)
            if not found:
                raise DataError(f"{p} contains no .wav files") if kind == "audio" else no_images_error(p)
            out += found
        elif p.is_file():
            out.append(p)
        else:
            raise DataError(f"input {p} does not exist")
    if not out:
        raise DataError(f"no input {'clips' if kind == 'audio' else 'images'} given")
    return out


def load_image_batch(files: Iterable[str | Path], resolution: int | None = None, channels: int = 3) -> torch.Tensor:
    """Image files → float ``[N, channels, H, W]`` in [-1, 1], centre-cropped and resized to ``resolution``
    (kept at their own size when None, which then must agree)."""
    arrs = []
    for f in files:
        a = load_image(f, channels)
        a = resize_square(a, resolution) if resolution else a
        arrs.append(a if a.ndim == 3 else a[..., None])
    if not arrs:
        raise DataError("no images to load")
    return torch.from_numpy(np.stack(arrs)).permute(0, 3, 1, 2).float() / 127.5 - 1.0
