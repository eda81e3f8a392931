"""Label maps: single-channel PNGs whose pixel values are class indices (mode "L" or "P").

"P" (palette) files are read as their indices, not their colours, as in the Pascal VOC
convention. 16-bit ("I;16", "I") files are accepted as long as every value is a valid class.
Label maps are resized with NEAREST (never blended) after the same centre crop as images.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import DataError
from .images import DEFAULT_MAX_PIXELS, check_image_shape, open_image, resize_square

_INTEGER_MODES = ("L", "P", "I;16", "I;16L", "I;16B", "I;16N", "I")


def resize_label(label: np.ndarray, resolution: int) -> np.ndarray:
    """Centre-crop an (H, W) label map to a square and resize it with NEAREST."""
    return resize_square(label, resolution, resample=Image.NEAREST)


def load_label_map(
    path: str | Path,
    num_classes: int,
    resolution: int | None = None,
    ignore_index: int | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> np.ndarray:
    """(H, W) uint8 class indices of ``path``, optionally resized to ``resolution``. Every value must be
    below ``num_classes`` (or equal ``ignore_index``, e.g. 255 for VOC boundaries); else DataError."""
    if not 1 <= num_classes <= 256:
        raise ValueError(f"num_classes must be in 1..256, got {num_classes}")
    if ignore_index is not None and not 0 <= ignore_index <= 255:
        raise ValueError(f"ignore_index must be in 0..255, got {ignore_index}")
    path = Path(path)
    im = open_image(path, max_pixels)
    if resolution:  # used as a model input: the same shape limits as images
        check_image_shape(path, *im.size)
    if im.mode not in _INTEGER_MODES:
        raise DataError(
            f"label map {path} is mode {im.mode}; label maps must be single-channel integer-index PNGs "
            f"(mode L or P) whose values are class indices 0..{num_classes - 1}; convert colours to indices"
        )
    arr = np.asarray(im).astype(np.int64)
    invalid = (arr < 0) | (arr >= num_classes)
    if ignore_index is not None:
        invalid &= arr != ignore_index
    if invalid.any():
        bad = arr[invalid]
        worst = int(bad.max()) if bad.max() >= num_classes else int(bad.min())
        raise DataError(
            f"label map {path} contains label {worst} (max label found {int(arr.max())}) but num_classes="
            f"{num_classes} allows 0..{num_classes - 1}; fix the file or raise num_classes"
        )
    label = arr.astype(np.uint8)
    return resize_label(label, resolution) if resolution else label
