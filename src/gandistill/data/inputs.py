"""Inference inputs shared by ``translate``, ``gpd route``, the Python API and the demo: files and
folders → a file list, image files → one float batch, where each output goes (the input's folder
layout is kept, so nothing overwrites anything), per-input references and output sizes.

Output names: every input keeps its path relative to the common folder of all inputs (a folder input
counts as its own root, a file input as its parent folder), with the extension ``.png``:
``--input test/A`` writes ``out/0001.png`` …; ``--input a/x.png b/x.png x.jpg`` writes
``out/a/x.png``, ``out/b/x.png`` and ``out/x.png``. Two inputs that would still share an output
(``x.png`` and ``x.jpg`` in one folder) are refused, as is an output folder that is (or is inside)
an input folder.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

import numpy as np
import torch

from ..errors import DataError
from .images import (check_image_shape, image_header, list_images, load_square, name_some, no_images_error,
                     resize_square, warn_resized)

SIZE_INPUT = "input"  # --size input: each output at the size of its input's centre square


def _items(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    return [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]


def input_entries(paths: str | Path | Iterable[str | Path], kind: str = "image") -> list[tuple[Path, str]]:
    """(file, name) for every input: files given directly plus every image (or .wav for ``kind="audio"``)
    inside given folders, sorted per folder; ``name`` is the relative output name without extension
    (see the module docstring). A file reached twice is used once."""
    groups: list[tuple[Path, list[Path]]] = []  # (root the names are relative to, files)
    for p in _items(paths):
        if p.is_dir():
            found = sorted(p.rglob("*.wav")) if kind == "audio" else list_images(p)
            if not found:
                raise DataError(f"{p} contains no .wav files") if kind == "audio" else no_images_error(p)
            groups.append((p, found))
        elif p.is_file():
            groups.append((p.parent, [p]))
        else:
            raise DataError(f"input {p} does not exist; check the path")
    if not groups:
        raise DataError(f"no input {'clips' if kind == 'audio' else 'images'} given")
    common = Path(os.path.commonpath([os.path.abspath(root) for root, _ in groups]))
    entries: dict[str, tuple[Path, str]] = {}
    for _root, files in groups:
        for f in files:
            rel = PurePosixPath(Path(os.path.abspath(f)).relative_to(common).as_posix())
            entries.setdefault(os.path.abspath(f), (f, str(rel.with_suffix(""))))
    return list(entries.values())


def expand_inputs(paths: str | Path | Iterable[str | Path], kind: str = "image") -> list[Path]:
    """Files given directly, plus every image (or .wav for ``kind="audio"``) inside given folders, sorted."""
    return [f for f, _ in input_entries(paths, kind)]


def output_paths(entries: Sequence[tuple[Path, str]], output: str | Path, inputs: str | Path | Iterable[str | Path],
                 suffixes: Sequence[str] = ("",), option: str = "--output") -> list[list[Path]]:
    """Per input, its output PNG(s) ``output/<name><suffix>.png``; refuses an output folder that is or lies
    inside an input folder, an output that would overwrite an input, and two inputs sharing an output."""
    out = Path(output)
    out_abs = Path(os.path.abspath(out))
    if out.exists() and not out.is_dir():
        raise DataError(f"{option} {out} is a file; pass a folder for the output images")
    for p in _items(inputs):
        if p.is_dir():
            root = Path(os.path.abspath(p))
            if out_abs == root or root in out_abs.parents:
                raise DataError(f"{option} {out} is {'the' if out_abs == root else 'inside the'} input folder {p}: "
                                "the outputs could overwrite the inputs and be read as inputs next time; "
                                "choose an output folder outside it")
    inputs_abs = {os.path.abspath(f) for f, _ in entries}
    plan = [[out / f"{name}{s}.png" for s in suffixes] for _, name in entries]
    owners: dict[str, Path] = {}
    clashes = []
    for (f, _), paths in zip(entries, plan):
        for path in paths:
            key = os.path.abspath(path)
            if key in inputs_abs:
                raise DataError(f"translating {f} would overwrite the input {path}; choose another {option} folder")
            if key in owners:
                clashes.append(f"{owners[key]} and {f} → {path}")
            owners[key] = f
    if clashes:
        raise DataError(f"inputs would overwrite each other's output: {name_some(clashes, 3)}; rename one of each "
                        "(outputs keep the input's folder layout and stem, as .png) or translate them separately")
    return plan


def match_references(entries: Sequence[tuple[Path, str]], reference: str | Path) -> list[Path]:
    """One reference image per input: ``reference`` itself when it is a file, else the image in that folder
    with the input's relative name (any image extension), or failing that with the same file stem."""
    ref = Path(reference)
    if ref.is_file():
        return [ref] * len(entries)
    if not ref.is_dir():
        raise DataError(f"--reference {ref} does not exist; pass an image, or a folder of images named like the "
                        "inputs")
    files = list_images(ref)
    by_name = {f.relative_to(ref).with_suffix("").as_posix(): f for f in files}
    by_stem: dict[str, Path | None] = {}
    for f in files:
        by_stem[f.stem] = None if f.stem in by_stem else f  # None: ambiguous stem
    out, missing = [], []
    for f, name in entries:
        match = by_name.get(name) or by_stem.get(PurePosixPath(name).name)
        if match is None:
            missing.append(f.name)
        out.append(match)
    if missing:
        raise DataError(f"--reference {ref} has no image for {len(missing)} input(s): {name_some(missing)}; add "
                        "references with the same file names (any image extension), or pass one reference image")
    return out


def parse_size(text: str | int | None) -> int | str | None:
    """``--size``: None, a side length ≥ 1, or ``"input"``."""
    if text is None or text == SIZE_INPUT:
        return text
    try:
        size = int(text)
    except (TypeError, ValueError):
        size = 0
    if size < 1:
        raise DataError(f"--size must be a positive number of pixels or '{SIZE_INPUT}', got {text!r}")
    return size


def output_side(size: int | str | None, file: Path | None, fallback: int) -> int:
    """The side of one output image: ``size``, its input's centre square (``"input"``) or ``fallback``."""
    if size == SIZE_INPUT:
        if file is None:
            return fallback
        w, h, _ = image_header(file)
        return min(w, h)
    return int(size) if size else fallback


def resize_output(img: torch.Tensor, side: int | None) -> torch.Tensor:
    """uint8 [C, H, W] resized (centre square, Lanczos, as inputs are) to ``side`` × ``side``; as is when None."""
    if not side or tuple(img.shape[-2:]) == (side, side):
        return img
    arr = np.ascontiguousarray(img.permute(1, 2, 0).cpu().numpy())
    out = resize_square(arr[..., 0] if arr.shape[2] == 1 else arr, side)
    return torch.from_numpy(np.array(out.reshape(side, side, -1))).permute(2, 0, 1)  # a writable copy


def resize_batch(x: torch.Tensor, resolution: int, what: str = "input") -> torch.Tensor:
    """In-memory float ``[N, C, H, W]`` in [-1, 1] → ``resolution`` square by the rule files follow
    (shape limits, uint8, centre crop, Lanczos), so arrays and files give the same model input."""
    if tuple(x.shape[-2:]) == (resolution, resolution):
        return x
    out = []
    for i, img in enumerate(x):
        check_image_shape(f"{i} of the {what} batch", img.shape[-1], img.shape[-2])
        u8 = (img.detach().float() * 127.5 + 128).clamp(0, 255).to(torch.uint8)  # the quantisation of a saved PNG
        out.append(resize_output(u8, resolution).float() / 127.5 - 1.0)
    return torch.stack(out)


def save_output(img: torch.Tensor, path: Path, side: int | None = None) -> None:
    """uint8 [C, H, W] → an RGB PNG (grey repeated), resized (Lanczos) to ``side`` × ``side`` when given."""
    from PIL import Image

    from ..io.atomic import atomic_path

    img = resize_output(img, side)
    arr = img.expand(3, -1, -1).permute(1, 2, 0).cpu().numpy() if img.shape[0] == 1 else img.permute(1, 2, 0).cpu().numpy()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:  # a crash never leaves a half-written PNG
        Image.fromarray(np.ascontiguousarray(arr)).save(tmp, format="PNG")


def warn_if_resized(files: Iterable[str | Path], resolution: int, what: str = "input images") -> None:
    """One warning line naming the files that are not ``resolution`` square (they get resized)."""
    warn_resized([(Path(f).name, *image_header(f)[:2]) for f in files], resolution, what)


def load_image_batch(files: Iterable[str | Path], resolution: int | None = None, channels: int = 3) -> torch.Tensor:
    """Image files → float ``[N, channels, H, W]`` in [-1, 1], centre-cropped and resized to ``resolution``
    (kept at their own size when None, which then must agree)."""
    arrs = []
    for f in files:
        a = load_square(f, resolution, channels)
        arrs.append(a if a.ndim == 3 else a[..., None])
    if not arrs:
        raise DataError("no images to load")
    shapes = {a.shape for a in arrs}
    if len(shapes) > 1:
        raise DataError(f"images of different sizes cannot form one batch ({name_some([str(s[:2]) for s in shapes])});"
                        " pass a resolution to resize them")
    return torch.from_numpy(np.stack(arrs)).permute(0, 3, 1, 2).float() / 127.5 - 1.0
