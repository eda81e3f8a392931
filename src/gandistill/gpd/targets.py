"""Loading the few target-domain images of GPD adaptation, with clear errors and warnings."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from ..data.images import image_header, image_to_array, list_images, open_image, require_folder, resize_square
from ..errors import DataError


def load_targets(folder: str | Path, resolution: int, channels: int, max_targets: int = 10,
                 what: str = "target folder") -> tuple[torch.Tensor, list[str]]:
    """Images of ``folder`` as uint8 [N, C, R, R] plus their file names.

    Errors: folder missing or empty. Warnings: more than ``max_targets`` images (GPD is few-shot);
    images not of the teacher's size (resized after a centre crop) or channel count (converted).
    """
    root = require_folder(folder, what)
    files = list_images(root)
    if not files:
        raise DataError(f"{what} {root} holds no images (png/jpg/jpeg/webp): GPD adaptation needs 1–"
                        f"{max_targets} examples of the target domain")
    if len(files) > max_targets:
        warnings.warn(f"{len(files)} target images in {root}: GPD is designed for ≤ {max_targets}; all are used, "
                      "but with many examples plain fine-tuning (--cdc-weight 0) may do as well", stacklevel=2)
    wrong_size, wrong_mode, arrays = [], [], []
    for f in files:
        w, h, mode = image_header(f)
        if (w, h) != (resolution, resolution):
            wrong_size.append(f"{f.name} ({w}×{h})")
        grey = mode in ("L", "LA", "1", "I", "I;16", "F")
        if grey != (channels == 1):
            wrong_mode.append(f"{f.name} ({mode})")
        arr = resize_square(image_to_array(open_image(f), channels), resolution)
        arrays.append(np.ascontiguousarray(arr.transpose(2, 0, 1)))
    if wrong_size:
        warnings.warn(f"target images are not {resolution}×{resolution} like the teacher; they are centre-cropped "
                      f"and resized: {', '.join(wrong_size[:5])}", stacklevel=2)
    if wrong_mode:
        kind = "grey" if channels == 1 else "RGB"
        warnings.warn(f"the teacher is {kind} ({channels} channel(s)) but some targets are not; they are "
                      f"converted: {', '.join(wrong_mode[:5])}", stacklevel=2)
    return torch.from_numpy(np.stack(arrays)), [f.relative_to(root).as_posix() for f in files]
