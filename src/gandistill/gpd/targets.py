"""Loading the few target-domain images of GPD adaptation, with clear errors and warnings."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from ..data.images import image_header, list_images, load_square, require_folder, warn_resized
from ..errors import DataError


def load_targets(folder: str | Path, resolution: int, channels: int, max_targets: int | None = 10,
                 what: str = "target folder", option: str = "--target") -> tuple[torch.Tensor, list[str]]:
    """Images of ``folder`` as uint8 [N, C, R, R] plus their file names.

    Errors: folder missing or empty, images too small or elongated (``check_image_shape``). Warnings:
    more than ``max_targets`` images (GPD is few-shot; None: no limit); images not of the teacher's size
    (resized after a centre crop) or channel count (converted).
    """
    root = require_folder(folder, what)
    files = list_images(root)
    if not files:
        need = (f"1–{max_targets} examples of the target domain" if max_targets
                else "the real examples of the target domain (or A/ and B/ subfolders of paired examples)")
        raise DataError(f"{what} {root} is empty: it holds no images (png/jpg/jpeg/webp); pass {option} a folder "
                        f"with {need}")
    _warn_if_many(len(files), "target images", root, max_targets)
    sizes, wrong_mode, arrays = [], [], []
    for f in files:
        w, h, mode = image_header(f)
        sizes.append((f.name, w, h))
        grey = mode in ("L", "LA", "1", "I", "I;16", "F")
        if grey != (channels == 1):
            wrong_mode.append(f"{f.name} ({mode})")
        arr = load_square(f, resolution, channels)
        arrays.append(np.ascontiguousarray(arr.transpose(2, 0, 1)))
    warn_resized(sizes, resolution, "target images" if max_targets else "anchor images")
    if wrong_mode:
        kind = "grey" if channels == 1 else "RGB"
        warnings.warn(f"the teacher is {kind} ({channels} channel(s)) but some targets are not; they are "
                      f"converted: {', '.join(wrong_mode[:5])}", stacklevel=2)
    return torch.from_numpy(np.stack(arrays)), [f.relative_to(root).as_posix() for f in files]


def _warn_if_many(n: int, kind: str, root: Path, max_targets: int | None) -> None:
    if max_targets and n > max_targets:
        warnings.warn(f"{n} {kind} in {root}: GPD is designed for ≤ {max_targets}; all are used, "
                      "but with many examples plain fine-tuning (--w-cdc 0) may do as well", stacklevel=3)


def holds_pairs(folder: str | Path) -> bool:
    """Whether ``folder`` is a paired dataset (``A/`` sources and ``B/`` targets with matching stems)."""
    return (Path(folder) / "A").is_dir() and (Path(folder) / "B").is_dir()


def load_pairs(folder: str | Path, resolution: int, channels: int, what: str = "anchor images",
               max_targets: int | None = None) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """A paired folder as uint8 sources [N, C, R, R], targets [N, C, R, R] and the pairs' stems (one warning
    when images are not of the teacher's size, they are centre-cropped and resized; one when there are more
    than ``max_targets`` pairs)."""
    from ..data.paired import PairedImageDataset

    root = Path(folder)
    ds = PairedImageDataset(root, resolution=resolution, channels=channels)
    _warn_if_many(len(ds.pairs), "target pairs", root, max_targets)
    sizes = []
    for f in dict.fromkeys(f for pair in ds.pairs for f in pair):  # side-by-side: one file, two h×h halves
        w, h, _ = image_header(f)
        sizes.append((f.relative_to(root).as_posix(), w if ds.mode == "folders" else h, h))
    warn_resized(sizes, resolution, what)
    x_np, y_np = ds.as_uint8_arrays()
    return torch.from_numpy(x_np), torch.from_numpy(y_np), [a.stem for a, _ in ds.pairs]
