"""Training images for the teacher, decoded once into a uint8 tensor [N, C, R, R] in memory.

Limited-data GAN training sees the same few thousand images many times, so decoding once beats a
loader pipeline; a 2,000-image 64 px set is 24 MB.
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import DataError

TOYFACES = "toyfaces"


def load_training_images(spec: str, resolution: int, channels: int = 3, n: int = 2000, seed: int = 0,
                         max_images: int | None = None) -> torch.Tensor:
    """``spec`` is an image folder or ``toyfaces[:domain]`` (built-in, generated in memory)."""
    if spec == TOYFACES or spec.startswith(TOYFACES + ":"):
        from ..data.toyfaces import toyfaces_arrays

        domain = spec.split(":", 1)[1] if ":" in spec else "photo"
        arrays = toyfaces_arrays(n if max_images is None else min(n, max_images), resolution, seed=seed)
        if domain not in arrays or domain in ("seg", "audio", "caption"):
            raise DataError(f"toyfaces has no image domain {domain!r}; use toyfaces:photo or toyfaces:sketch")
        arr = np.asarray(arrays[domain])
        if arr.ndim == 3:
            arr = arr[..., None]
    else:
        from ..data import ImageFolderDataset

        ds = ImageFolderDataset(spec, resolution=resolution, channels=channels)
        arr = ds.as_uint8_array()
        if max_images is not None:
            arr = arr[:max_images]
    t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.ndim == 4 and t.shape[-1] in (1, 3) and t.shape[1] not in (1, 3):
        t = t.permute(0, 3, 1, 2)  # HWC → CHW
    if t.shape[1] == 3 and channels == 1:
        t = (0.299 * t[:, 0:1].float() + 0.587 * t[:, 1:2].float() + 0.114 * t[:, 2:3].float()).round()
    if t.shape[1] == 1 and channels == 3:
        t = t.expand(-1, 3, -1, -1)
    if t.shape[1] != channels or t.shape[-1] != resolution:
        raise DataError(f"training images from {spec} are {list(t.shape[1:])}, expected "
                        f"[{channels}, {resolution}, {resolution}]")
    return t.to(torch.uint8).contiguous()
