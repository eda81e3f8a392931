"""Image folders for evaluation: listing, loading as uint8, quantising generator output, pairing by stem."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch

from ..data import images as data_images
from ..errors import DataError
from ..utils.images import to_uint8


def list_images(folder: str | Path) -> list[Path]:
    """All images under ``folder`` (recursive, hidden files skipped), sorted by relative path; never empty."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder of images; pass a directory containing png/jpg/webp files")
    files = data_images.list_images(folder)
    if not files:
        raise DataError(f"{folder}: no images found (looked for {', '.join(sorted(data_images.SUPPORTED_EXTENSIONS))}, "
                        "recursively)")
    return files


def load_image(path: str | Path) -> np.ndarray:
    """One image as uint8 HWC RGB (grey repeated, alpha composited), via the project's validating loader
    (which refuses slivers and images under 16 px, as every other command does)."""
    return data_images.load_square(path, None, channels=3)


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 HWC numpy -> uint8 CHW tensor."""
    if not image.flags.writeable:  # PIL-backed arrays are read-only; torch wants to own writable memory
        image = image.copy()
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).contiguous()


def quantize(images: torch.Tensor) -> torch.Tensor:
    """Generator output in about [-1, 1] -> uint8, exactly as a saved PNG would hold it."""
    return to_uint8(images)  # one quantisation rule for saving and evaluating


def iter_folder_batches(files: Sequence[Path], batch_size: int) -> Iterator[torch.Tensor]:
    """uint8 (N,3,H,W) batches in file order; a batch is cut early where the image size changes."""
    batch: list[torch.Tensor] = []
    for path in files:
        img = to_tensor(load_image(path))
        if batch and (img.shape != batch[0].shape or len(batch) == batch_size):
            yield torch.stack(batch)
            batch = []
        batch.append(img)
    if batch:
        yield torch.stack(batch)


def stem_key(path: Path, root: Path) -> str:
    """Relative path without extension: ``a/b/001.png`` pairs with ``a/b/001.jpg``."""
    return path.relative_to(root).with_suffix("").as_posix()


def match_by_stem(gen_root: str | Path, ref_root: str | Path) -> list[tuple[str, Path, Path]]:
    """(stem, generated file, reference file) for every stem; errors name the stems that do not match."""
    gen_root, ref_root = Path(gen_root), Path(ref_root)
    gen = _by_stem(list_images(gen_root), gen_root)
    ref = _by_stem(list_images(ref_root), ref_root)
    missing_gen = sorted(set(ref) - set(gen))
    missing_ref = sorted(set(gen) - set(ref))
    if missing_gen or missing_ref:
        parts = []
        if missing_gen:
            parts.append(f"{len(missing_gen)} reference image(s) have no generated image in {gen_root}: {_preview(missing_gen)}")
        if missing_ref:
            parts.append(f"{len(missing_ref)} generated image(s) have no reference in {ref_root}: {_preview(missing_ref)}")
        raise DataError("paired evaluation needs the same file stems in both folders; " + "; ".join(parts)
                        + ". Rename or remove the extra files, or drop --paired for unpaired metrics.")
    return [(s, gen[s], ref[s]) for s in sorted(gen)]


def _by_stem(files: list[Path], root: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for f in files:
        key = stem_key(f, root)
        if key in out:
            raise DataError(f"{out[key]} and {f}: two images with the same stem; keep one of them")
        out[key] = f
    return out


def _preview(stems: list[str], limit: int = 10) -> str:
    shown = ", ".join(stems[:limit])
    return shown + (f", ... ({len(stems) - limit} more)" if len(stems) > limit else "")
