"""``ImageFolderDataset``: a folder of images (recursive) with optional ``metadata.jsonl`` fields.

Which files are samples: without ``metadata.jsonl`` (or with ``metadata=False``) every
supported image under the folder; with it, exactly the images named by its ``file_name``
fields (so a toyfaces folder loads its photos, not its sketch/ and seg/ images).
Order is sorted by relative path. ``xflip=True`` doubles the dataset: index ``i >= n`` is
image ``i - n`` mirrored left-right (as in StyleGAN2-ADA).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from ..errors import DataError
from .audio import DEFAULT_SAMPLE_RATE, load_wav
from .images import (DEFAULT_MAX_PIXELS, SUPPORTED_EXTENSIONS, check_image_shape, image_to_array, list_images,
                     load_square, name_some, no_images_error, open_image, require_folder)
from .labels import load_label_map
from .metadata import METADATA_FILE, is_file_field, read_metadata
from .summary import DatasetSummary, raise_if_bad


def to_tensor(arr: np.ndarray) -> torch.Tensor:
    """(H, W, C) uint8 -> (C, H, W) float32 in [-1, 1]."""
    # torch.tensor copies, so read-only arrays from Pillow are fine.
    return torch.tensor(np.ascontiguousarray(arr)).permute(2, 0, 1).float().div_(127.5).sub_(1.0)


class ImageFolderDataset(Dataset):
    """Images under ``root`` as float32 (C, H, W) tensors in [-1, 1] at ``resolution`` x ``resolution``.

    ``cache=True`` decodes everything once into memory (see ``as_uint8_array``);
    ``validate=True`` decodes every file up front and reports all bad ones in one DataError.
    """

    def __init__(
        self,
        root: str | Path,
        resolution: int,
        channels: int = 3,
        xflip: bool = False,
        recursive: bool = True,
        metadata: bool = True,
        cache: bool = False,
        validate: bool = False,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
    ):
        if resolution < 1 or channels not in (1, 3):
            raise ValueError(f"need resolution >= 1 and channels in (1, 3), got {resolution}, {channels}")
        self.root = require_folder(root)
        self.resolution, self.channels, self.xflip = int(resolution), int(channels), bool(xflip)
        self.max_pixels = max_pixels
        self._rows = read_metadata(self.root) if metadata else {}
        self._names = self._list_from_metadata(recursive) if self._rows else [
            p.relative_to(self.root).as_posix() for p in list_images(self.root, recursive)
        ]
        if not self._names:
            raise no_images_error(self.root)
        self._cache: np.ndarray | None = None
        if validate:
            self.validate()
        if cache:
            self.as_uint8_array()

    def _list_from_metadata(self, recursive: bool) -> list[str]:
        meta = self.root / METADATA_FILE
        names = sorted(self._rows)
        missing = [n for n in names if not (self.root / n).is_file()]
        if missing:
            raise DataError(
                f"{meta} lists {len(missing)} image(s) that do not exist: {name_some(missing)}; "
                "fix the file_name entries or restore the files"
            )
        unsupported = [n for n in names if Path(n).suffix.lower() not in SUPPORTED_EXTENSIONS]
        if unsupported:
            raise DataError(f"{meta} lists files that are not png/jpg/jpeg/webp images: {name_some(unsupported)}")
        referenced = {v for row in self._rows.values() for k, v in row.items() if is_file_field(k)}
        stray = [p for p in list_images(self.root, recursive) if p.relative_to(self.root).as_posix() not in referenced]
        if stray:
            warnings.warn(
                f"{len(stray)} image(s) under {self.root} are not in {METADATA_FILE} and are ignored "
                f"(e.g. {stray[0].relative_to(self.root)}); pass metadata=False to use every image",
                stacklevel=3,
            )
        return names

    # --- indexing
    def __len__(self) -> int:
        return len(self._names) * (2 if self.xflip else 1)

    @property
    def num_images(self) -> int:
        """Distinct images (without mirrored copies)."""
        return len(self._names)

    def _base(self, index: int) -> tuple[int, bool]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        index %= len(self)
        return index % len(self._names), index >= len(self._names)

    def path(self, index: int, key: str = "file_name") -> Path:
        """Absolute path of the image (or of another ``*_file_name`` metadata field) of item ``index``."""
        i, _ = self._base(index)
        if key == "file_name":
            return self.root / self._names[i]
        row = self._rows.get(self._names[i], {})
        if key not in row:
            raise DataError(
                f"{self.root / METADATA_FILE} has no \"{key}\" for {self._names[i]}; add it to that line"
            )
        return self.root / row[key]

    def metadata(self, index: int) -> dict:
        """The ``metadata.jsonl`` row of item ``index`` (``text``, ``audio_file_name``, ... when present)."""
        i, _ = self._base(index)
        return dict(self._rows.get(self._names[i], {"file_name": self._names[i]}))

    def image_uint8(self, index: int) -> np.ndarray:
        """(H, W, C) uint8 of item ``index`` at the dataset resolution, mirrored if it is a flipped copy."""
        i, flip = self._base(index)
        if self._cache is not None:
            arr = self._cache[i].transpose(1, 2, 0)
        else:
            arr = load_square(self.root / self._names[i], self.resolution, self.channels, self.max_pixels)
        return np.ascontiguousarray(arr[:, ::-1] if flip else arr)

    def __getitem__(self, index: int) -> torch.Tensor:
        return to_tensor(self.image_uint8(index))

    def as_uint8_array(self) -> np.ndarray:
        """All distinct images as one (N, C, H, W) uint8 array, decoded once and kept in memory."""
        if self._cache is None:
            out = np.empty((self.num_images, self.channels, self.resolution, self.resolution), np.uint8)
            for i in tqdm(range(self.num_images), desc=f"loading {self.root.name}", disable=None, leave=False):
                out[i] = self.image_uint8(i).transpose(2, 0, 1)
            self._cache = out
        return self._cache

    # --- validation
    def validate(self, num_classes: int | None = None, sample_rate: int = DEFAULT_SAMPLE_RATE) -> DatasetSummary:
        """Decode every image (and label map / audio named in the metadata) once; one DataError lists all
        bad files. ``num_classes`` also range-checks label maps."""
        summary = DatasetSummary(str(self.root), "images", self.num_images, self.resolution)
        errors: list[str] = []
        for name in tqdm(self._names, desc=f"checking {self.root.name}", disable=None, leave=False):
            try:
                im = open_image(self.root / name, self.max_pixels)
                check_image_shape(self.root / name, *im.size)
                image_to_array(im, self.channels)
            except DataError as exc:
                errors.append(str(exc))
                continue
            summary.sizes[im.size] += 1
            summary.modes[im.mode] += 1
            summary.extensions[Path(name).suffix.lower()] += 1
            for key, value in self._rows.get(name, {}).items():
                if key == "file_name":
                    continue
                summary.fields[key] += 1
                try:
                    if key == "label_file_name":
                        if num_classes:
                            load_label_map(self.root / value, num_classes, max_pixels=self.max_pixels)
                        else:
                            open_image(self.root / value, self.max_pixels)
                    elif key == "audio_file_name":
                        load_wav(self.root / value, sample_rate)
                    elif is_file_field(key) and not (self.root / value).is_file():
                        raise DataError(f"{self.root / value} (\"{key}\" of {name}) does not exist")
                except DataError as exc:
                    errors.append(str(exc))
        raise_if_bad(errors, str(self.root))
        return summary
