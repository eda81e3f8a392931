"""``PairedImageDataset``: aligned (A, B) image pairs for image-to-image translation.

Two layouts:

- ``mode="folders"``: ``root/A/`` and ``root/B/`` (or an explicit ``(a_dir, b_dir)``) whose
  files pair up by relative path without extension (``A/x.png`` <-> ``B/x.jpg``).
- ``mode="side_by_side"``: each image in ``root`` is A (left half) next to B (right half),
  so its width must be exactly twice its height.

Both sides get the same centre crop and resize; with ``xflip=True`` index ``i >= n`` is pair
``i - n`` with both images mirrored.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from ..errors import DataError
from .folder import to_tensor
from .images import (DEFAULT_MAX_PIXELS, check_image_shape, image_header, image_to_array, list_images, name_some,
                     no_images_error, open_image, require_folder, resize_square)
from .summary import DatasetSummary, raise_if_bad

MODES = ("folders", "side_by_side")


def _by_stem(folder: Path, recursive: bool) -> dict[str, Path]:
    files = list_images(folder, recursive)
    if not files:
        raise no_images_error(folder)
    out: dict[str, Path] = {}
    for f in files:
        stem = f.relative_to(folder).with_suffix("").as_posix()
        if stem in out:
            raise DataError(
                f"{out[stem]} and {f} have the same name in {folder}, so pairing is ambiguous; rename or delete one"
            )
        out[stem] = f
    return out


def _pair_folders(a_dir: Path, b_dir: Path, recursive: bool) -> list[tuple[Path, Path]]:
    a, b = _by_stem(a_dir, recursive), _by_stem(b_dir, recursive)
    only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    if only_a or only_b:
        parts = []
        if only_a:
            parts.append(f"{len(only_a)} only in {a_dir}: {name_some(only_a)}")
        if only_b:
            parts.append(f"{len(only_b)} only in {b_dir}: {name_some(only_b)}")
        raise DataError(
            "unpaired files (" + "; ".join(parts) + "); every A file needs a B file with the same name "
            "(the extension may differ) — add the missing partners or delete the extras"
        )
    return [(a[s], b[s]) for s in sorted(a)]


class PairedImageDataset(Dataset):
    """Pairs as ``(a, b)`` float32 (C, H, W) tensors in [-1, 1] at ``resolution``.

    ``root`` is a folder (with ``A/`` and ``B/``, or of side-by-side images) or an ``(a_dir, b_dir)`` tuple.
    ``channels`` is one int for both sides or ``(channels_a, channels_b)``.
    """

    def __init__(
        self,
        root: str | Path | tuple[str | Path, str | Path],
        resolution: int,
        mode: str = "folders",
        channels: int | tuple[int, int] = 3,
        xflip: bool = False,
        recursive: bool = True,
        cache: bool = False,
        validate: bool = False,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
    ):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.resolution, self.mode, self.xflip, self.max_pixels = int(resolution), mode, bool(xflip), max_pixels
        self.channels = (channels, channels) if isinstance(channels, int) else tuple(channels)
        if isinstance(root, (tuple, list)):
            if mode != "folders":
                raise ValueError("an (a_dir, b_dir) pair needs mode='folders'")
            a_dir, b_dir = (require_folder(p) for p in root)
            self.root = a_dir.parent
            self._pairs = _pair_folders(a_dir, b_dir, recursive)
        elif mode == "folders":
            self.root = require_folder(root)
            a_dir, b_dir = self.root / "A", self.root / "B"
            if not (a_dir.is_dir() and b_dir.is_dir()):
                raise DataError(
                    f"{self.root} has no A/ and B/ subfolders; put inputs in A/ and targets in B/ with matching "
                    "file names, or use side-by-side mode (mode='side_by_side', CLI --side-by-side) for images "
                    "holding A and B next to each other"
                )
            self._pairs = _pair_folders(a_dir, b_dir, recursive)
        else:
            self.root = require_folder(root)
            files = list_images(self.root, recursive)
            if not files:
                raise no_images_error(self.root)
            self._check_side_by_side(files)
            self._pairs = [(f, f) for f in files]
        self._cache: tuple[np.ndarray, np.ndarray] | None = None
        if validate:
            self.validate()
        if cache:
            self.as_uint8_arrays()

    def _check_side_by_side(self, files: list[Path]) -> None:
        errors = []
        for f in files:
            w, h, _ = image_header(f)
            if w != 2 * h:
                errors.append(f"{f} is {w}x{h}; side-by-side images must be exactly twice as wide as tall "
                              "(A on the left, B on the right)")
        raise_if_bad(errors, str(self.root))

    def __len__(self) -> int:
        return len(self._pairs) * (2 if self.xflip else 1)

    @property
    def num_pairs(self) -> int:
        return len(self._pairs)

    @property
    def pairs(self) -> list[tuple[Path, Path]]:
        """(A path, B path) per pair; the same file twice in side-by-side mode."""
        return list(self._pairs)

    def _decode(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        pa, pb = self._pairs[i]
        if self.mode == "side_by_side":
            im = open_image(pa, self.max_pixels)
            w, h = im.size
            if w != 2 * h:
                raise DataError(f"{pa} is {w}x{h}; side-by-side images must be exactly twice as wide as tall")
            check_image_shape(f"{pa} (each half)", h, h)
            a = image_to_array(im.crop((0, 0, h, h)), self.channels[0])
            b = image_to_array(im.crop((h, 0, w, h)), self.channels[1])
        else:
            ima, imb = open_image(pa, self.max_pixels), open_image(pb, self.max_pixels)
            check_image_shape(pa, *ima.size)
            check_image_shape(pb, *imb.size)
            a, b = image_to_array(ima, self.channels[0]), image_to_array(imb, self.channels[1])
            if a.shape[:2] != b.shape[:2]:
                raise DataError(
                    f"{pa} is {a.shape[1]}x{a.shape[0]} but its partner {pb} is {b.shape[1]}x{b.shape[0]}; "
                    "paired images must have the same size to stay aligned"
                )
        return resize_square(a, self.resolution), resize_square(b, self.resolution)

    def pair_uint8(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(H, W, C) uint8 A and B of item ``index``; both mirrored if it is a flipped copy."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        index %= len(self)
        i, flip = index % self.num_pairs, index >= self.num_pairs
        if self._cache is not None:
            a, b = self._cache[0][i].transpose(1, 2, 0), self._cache[1][i].transpose(1, 2, 0)
        else:
            a, b = self._decode(i)
        if flip:
            a, b = a[:, ::-1], b[:, ::-1]
        return np.ascontiguousarray(a), np.ascontiguousarray(b)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = self.pair_uint8(index)
        return to_tensor(a), to_tensor(b)

    def as_uint8_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """All distinct pairs as two (N, C, H, W) uint8 arrays, decoded once and kept in memory."""
        if self._cache is None:
            r, (ca, cb) = self.resolution, self.channels
            a_all, b_all = np.empty((self.num_pairs, ca, r, r), np.uint8), np.empty((self.num_pairs, cb, r, r), np.uint8)
            for i in tqdm(range(self.num_pairs), desc=f"loading {self.root.name}", disable=None, leave=False):
                a, b = self._decode(i)
                a_all[i], b_all[i] = a.transpose(2, 0, 1), b.transpose(2, 0, 1)
            self._cache = (a_all, b_all)
        return self._cache

    def validate(self) -> DatasetSummary:
        """Decode every pair once; one DataError lists all bad files (corrupt, size mismatch, aspect)."""
        kind = "side-by-side pairs" if self.mode == "side_by_side" else "paired folders"
        summary = DatasetSummary(str(self.root), kind, self.num_pairs, self.resolution)
        errors: list[str] = []
        for i, (pa, pb) in enumerate(tqdm(self._pairs, desc="checking pairs", disable=None, leave=False)):
            ok = True
            for p, c in ([(pa, self.channels[0])] if pa == pb else [(pa, self.channels[0]), (pb, self.channels[1])]):
                try:
                    im = open_image(p, self.max_pixels)
                    check_image_shape(p, *(im.size if pa != pb else (im.size[1], im.size[1])))
                    image_to_array(im, c)
                except DataError as exc:
                    errors.append(str(exc))
                    ok = False
                    continue
                summary.sizes[im.size] += 1
                summary.modes[im.mode] += 1
                summary.extensions[p.suffix.lower()] += 1
            if ok:
                try:
                    self._decode(i)  # pair-level checks: matching sizes, side-by-side aspect
                except DataError as exc:
                    errors.append(str(exc))
        raise_if_bad(errors, str(self.root))
        return summary
