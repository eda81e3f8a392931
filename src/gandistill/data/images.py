"""Reading image files into uint8 arrays with explicit, documented conversions and clear errors.

Conversion rules (``load_image``):

- Every file is fully decoded (``Image.load()``), so truncated or corrupt files fail here,
  at validation time, not in the middle of training.
- Size is checked from the header before decoding: more than ``max_pixels`` (default 64
  megapixels) is refused as a possible decompression bomb. Pillow's own guard
  (``2 * PIL.Image.MAX_IMAGE_PIXELS``) still applies on top and is reported the same way.
- EXIF orientation is applied, so phone photos come out upright.
- Animated files (GIF, WebP): the first frame.
- Transparency ("RGBA", "RGBa", "LA", "La", "PA", "P" with a transparent colour) is
  composited onto a **white** background, as image viewers show it.
- 16-bit ("I;16", "I;16B", "I;16L") and 32-bit integer ("I") images are treated as 16-bit
  full range: values are clipped to 0..65535 and mapped to 8 bits by dropping the low byte
  (``v >> 8``). Float ("F") images are clipped to 0..255.
- "1" (bilevel) becomes 0/255 grey; "P" uses its palette colours; "CMYK", "YCbCr", "LAB",
  "HSV" are converted to RGB by Pillow.
- ``channels=3`` replicates grey to RGB; ``channels=1`` reduces RGB to luma with Pillow's
  ITU-R 601-2 rule (L = 0.299 R + 0.587 G + 0.114 B).

Resizing (``resize_square``): centre-crop to the largest square, then resize with Pillow's
Lanczos filter (which widens its support when shrinking, so downsampling is area-correct).

Shape limits (``check_image_shape``, applied wherever an image is used as model input, training data
or evaluation data — ``teacher train``, ``kdit``, ``gpd``, ``translate``, ``evaluate`` and ``serve``):
a side under ``MIN_SIDE`` (16) px or sides differing by more than ``MAX_ASPECT`` (4×) is refused with
the file name, since upscaling a sliver or keeping a small centre square of a strip gives garbage.
"""
from __future__ import annotations

import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ..errors import DataError, GandistillWarning

SUPPORTED_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".webp")
DEFAULT_MAX_PIXELS = 64_000_000
MIN_SIDE = 16  # the smallest model resolution: anything smaller is only ever upscaled
MAX_ASPECT = 4.0  # the centre square of a longer strip throws most of the image away

# Decoder failures that mean "this file is broken" rather than a bug in our code.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError, TypeError)
_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I")
_ALPHA = ("RGBA", "RGBa", "LA", "La", "PA")


def _cannot_read(path: Path, reason: str) -> DataError:
    return DataError(f"cannot read image {path}: {reason}; re-export or delete it")


def _too_big(path: Path, w: int | None, h: int | None, limit: int | None) -> DataError:
    size = f"{w}x{h} ({w * h / 1e6:.0f} megapixels)" if w and h else "too large"
    limit_txt = f"{limit / 1e6:g} megapixels" if limit else f"Pillow's limit of {2 * Image.MAX_IMAGE_PIXELS} pixels"
    return DataError(
        f"image {path} is {size}, over the limit of {limit_txt} (decompression-bomb guard); "
        "downscale it, or raise max_pixels if the file is trusted"
    )


def open_image(path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open, size-check and fully decode ``path``; EXIF orientation applied. Raises DataError."""
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not an image file" if path.is_dir() else "does not exist"
        raise DataError(f"image {path} {what}; check the path")
    try:
        with warnings.catch_warnings():
            # We enforce our own limit below; Pillow's softer warning would only be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                if max_pixels is not None and w * h > max_pixels:
                    raise _too_big(path, w, h, max_pixels)
                im.load()
                try:
                    return ImageOps.exif_transpose(im)  # always a copy, so closing the file is safe
                except _DECODE_ERRORS:
                    return im.copy()  # unreadable EXIF: keep the pixels as stored
    except DataError:
        raise
    except Image.DecompressionBombError:
        raise _too_big(path, None, None, None) from None
    except Image.UnidentifiedImageError:
        raise _cannot_read(path, "not an image or an unsupported format") from None
    except _DECODE_ERRORS as exc:
        raise _cannot_read(path, f"truncated or corrupt ({exc})") from None


def _on_white(arr: np.ndarray) -> np.ndarray:
    """Composite (..., C+1) colour+alpha uint8 onto white."""
    colour, alpha = arr[..., :-1].astype(np.float32), arr[..., -1:].astype(np.float32) / 255.0
    return np.round(colour * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)


def image_to_array(im: Image.Image, channels: int = 3) -> np.ndarray:
    """Decoded PIL image -> (H, W, channels) uint8 using the rules in the module docstring."""
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    mode = im.mode
    if mode in _SIXTEEN_BIT:
        arr = (np.clip(np.asarray(im, dtype=np.int64), 0, 65535) >> 8).astype(np.uint8)
    elif mode == "F":
        arr = np.clip(np.round(np.asarray(im, dtype=np.float32)), 0, 255).astype(np.uint8)
    elif mode in ("L", "RGB"):
        arr = np.asarray(im, dtype=np.uint8)
    elif mode in _ALPHA or (mode == "P" and ("transparency" in im.info or im.palette.mode == "RGBA")):
        arr = _on_white(np.asarray(im.convert("LA" if mode in ("LA", "La") else "RGBA"), dtype=np.uint8))
    elif mode == "1":
        arr = np.asarray(im.convert("L"), dtype=np.uint8)
    else:  # P, CMYK, YCbCr, LAB, HSV, RGBX, ...
        arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
    if arr.ndim == 2:
        arr = arr[..., None]
    if channels == 3 and arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    elif channels == 1 and arr.shape[2] == 3:
        arr = np.asarray(Image.fromarray(arr, "RGB").convert("L"), dtype=np.uint8)[..., None]
    return np.ascontiguousarray(arr)


def load_image(path: str | Path, channels: int = 3, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read ``path`` as an (H, W, channels) uint8 array. Raises DataError naming the file if it is unusable."""
    im = open_image(path, max_pixels)
    try:
        return image_to_array(im, channels)
    except _DECODE_ERRORS as exc:
        raise _cannot_read(Path(path), f"cannot convert mode {im.mode} ({exc})") from None


def image_header(path: str | Path) -> tuple[int, int, str]:
    """(width, height, mode) from the header only (no decoding). Raises DataError."""
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                return im.size[0], im.size[1], im.mode
    except Image.DecompressionBombError:
        raise _too_big(path, None, None, None) from None
    except Image.UnidentifiedImageError:
        raise _cannot_read(path, "not an image or an unsupported format") from None
    except _DECODE_ERRORS as exc:
        raise _cannot_read(path, f"truncated or corrupt ({exc})") from None


def check_image_shape(path: str | Path, width: int, height: int, min_side: int = MIN_SIDE,
                      max_aspect: float = MAX_ASPECT) -> None:
    """Refuse (DataError naming ``path``) an image too small or too elongated to be a model input."""
    if min(width, height) < min_side:
        raise DataError(f"image {path} is {width}x{height} pixels; images must be at least {min_side}x{min_side} "
                        "(it would only be upscaled into a blur): replace or remove it")
    if max(width, height) > max_aspect * min(width, height):
        raise DataError(f"image {path} is {width}x{height} pixels; the centre square is used, so the sides may differ "
                        f"by at most {max_aspect:g}x: crop it closer to a square or remove it")


def load_square(path: str | Path, resolution: int | None, channels: int = 3,
                max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """``path`` checked (``check_image_shape``), decoded and centre-cropped/resized to ``resolution``
    (kept at its own size when None): (R, R, channels) uint8."""
    im = open_image(path, max_pixels)
    check_image_shape(path, *im.size)
    try:
        arr = image_to_array(im, channels)
    except _DECODE_ERRORS as exc:
        raise _cannot_read(Path(path), f"cannot convert mode {im.mode} ({exc})") from None
    return resize_square(arr, resolution) if resolution else arr


def warn_resized(sizes: list[tuple[str, int, int]], resolution: int, what: str = "input images") -> None:
    """One warning line for the images (name, width, height) that are not ``resolution`` square, so no
    command resizes silently: the same wording for ``gpd adapt``, ``gpd anchors`` and ``translate``."""
    wrong = [f"{name} ({w}×{h})" for name, w, h in sizes if (w, h) != (resolution, resolution)]
    if wrong:
        are = "are" if len(wrong) > 1 else "is"
        warnings.warn(f"{len(wrong)} of {len(sizes)} {what} {are} not {resolution}×{resolution} like the model; "
                      f"centre-cropped and resized: {name_some(wrong, 3)}", GandistillWarning, stacklevel=3)


def centre_crop(arr: np.ndarray) -> np.ndarray:
    """Largest centred square of an (H, W, ...) array."""
    h, w = arr.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return arr[top: top + s, left: left + s]


def resize_square(arr: np.ndarray, resolution: int, resample: int = Image.LANCZOS) -> np.ndarray:
    """Centre-crop (H, W, C) or (H, W) uint8 to a square and resize it to ``resolution``."""
    sq = centre_crop(arr)
    if sq.shape[0] == resolution:
        return np.ascontiguousarray(sq)
    squeeze = sq.ndim == 3 and sq.shape[2] == 1
    im = Image.fromarray(sq[..., 0] if squeeze else sq)
    out = np.asarray(im.resize((resolution, resolution), resample=resample))
    return out[..., None] if squeeze else out


def list_images(root: str | Path, recursive: bool = True) -> list[Path]:
    """Image files under ``root`` (supported extensions, hidden files and folders skipped), sorted by
    relative path so the order is the same on every machine."""
    root = Path(root)
    pattern = root.rglob("*") if recursive else root.glob("*")
    files = [
        p for p in pattern
        if p.suffix.lower() in SUPPORTED_EXTENSIONS and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    ]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def require_folder(root: str | Path, what: str = "dataset folder") -> Path:
    root = Path(root)
    if not root.exists():
        raise DataError(f"{what} {root} does not exist; check the path")
    if not root.is_dir():
        raise DataError(f"{what} {root} is not a folder; pass the folder that holds the images")
    return root


def no_images_error(root: Path) -> DataError:
    exts = ", ".join(e.lstrip(".") for e in SUPPORTED_EXTENSIONS)
    return DataError(f"no images found in {root}; supported: {exts}")


def name_some(items: list[str], limit: int = 10) -> str:
    """'a, b, c' or 'a, b, ... and 7 more' for error messages."""
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"
