"""Checks on what a visitor uploads to ``gandistill serve``; every failure is a DataError with a message
meant for the page (never a traceback).

The decoding itself is the package's own: images through :func:`gandistill.data.images.load_image`
(full decode, decompression-bomb guard, EXIF, alpha on white), label maps through
:func:`gandistill.data.labels.load_label_map` and audio through :func:`gandistill.data.audio.load_wav`
(PCM only, refuses silent clips and other sample rates). This module adds the limits that matter
for files from strangers: size in bytes, pixel count, side lengths and clip length.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.audio import load_wav
from ..data.images import MAX_ASPECT, MIN_SIDE, SUPPORTED_EXTENSIONS, image_header, load_image
from ..data.labels import load_label_map
from ..errors import DataError

LABEL_EXTENSIONS = (".png",)  # label maps must be lossless integer-index PNGs
AUDIO_EXTENSIONS = (".wav",)


@dataclass(frozen=True)
class UploadLimits:
    """What the server accepts; ``gandistill serve --max-upload-mb`` sets ``max_bytes``."""

    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 4096 * 4096
    min_side: int = MIN_SIDE  # the limits every command applies (data.images.check_image_shape)
    max_aspect: float = MAX_ASPECT
    max_audio_seconds: float = 30.0
    max_caption_chars: int = 500

    @classmethod
    def from_mb(cls, megabytes: float, **overrides) -> UploadLimits:
        if megabytes <= 0:
            raise DataError(f"--max-upload-mb must be positive, got {megabytes}")
        return cls(max_bytes=int(megabytes * 1024 * 1024), **overrides)


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.3g} MB"


def check_file(path: str | Path | None, what: str, extensions: tuple[str, ...], limits: UploadLimits) -> Path:
    """An uploaded file that exists, has an accepted extension and is within the byte limit."""
    if path is None or str(path) == "":
        raise DataError(f"no {what} uploaded; choose a file first")
    path = Path(path)
    if not path.is_file():
        raise DataError(f"the {what} upload is missing on the server; upload it again")
    if path.suffix.lower() not in extensions:
        raise DataError(f"the {what} must be a {' / '.join(e.lstrip('.') for e in extensions)} file, "
                        f"got {path.name!r}")
    size = path.stat().st_size
    if size == 0:
        raise DataError(f"the {what} file {path.name!r} is empty")
    if size > limits.max_bytes:
        raise DataError(f"the {what} file {path.name!r} is {_mb(size)}, over the limit of {_mb(limits.max_bytes)}")
    return path


def check_dimensions(width: int, height: int, what: str, limits: UploadLimits) -> None:
    """Side lengths and pixel count from a file header, before anything is decoded."""
    if min(width, height) < limits.min_side:
        raise DataError(f"the {what} is {width}x{height} pixels; it must be at least "
                        f"{limits.min_side}x{limits.min_side}")
    if width * height > limits.max_pixels:
        raise DataError(f"the {what} is {width}x{height} pixels ({width * height / 1e6:.1f} megapixels), over the "
                        f"limit of {limits.max_pixels / 1e6:.1f} megapixels; downscale it")
    if max(width, height) > limits.max_aspect * min(width, height):
        raise DataError(f"the {what} is {width}x{height} pixels; the centre square is used, so the sides may differ "
                        f"by at most {limits.max_aspect:g}x — crop it closer to a square")


def _header(path: Path, what: str, limits: UploadLimits) -> None:
    width, height, _ = image_header(path)
    check_dimensions(width, height, what, limits)


def check_image(path: str | Path | None, limits: UploadLimits, what: str = "photo", channels: int = 3) -> np.ndarray:
    """(H, W, channels) uint8 pixels of an uploaded image, or DataError."""
    path = check_file(path, what, SUPPORTED_EXTENSIONS, limits)
    _header(path, what, limits)
    return load_image(path, channels, max_pixels=limits.max_pixels)


def check_label_map(path: str | Path | None, num_classes: int, limits: UploadLimits) -> np.ndarray:
    """(H, W) uint8 class indices of an uploaded label map (each < ``num_classes``), or DataError."""
    path = check_file(path, "label map", LABEL_EXTENSIONS, limits)
    _header(path, "label map", limits)
    return load_label_map(path, num_classes, max_pixels=limits.max_pixels)


def check_audio(path: str | Path | None, sample_rate: int, limits: UploadLimits) -> np.ndarray:
    """Mono float32 samples of an uploaded WAV at ``sample_rate``, at most ``max_audio_seconds`` long."""
    path = check_file(path, "audio clip", AUDIO_EXTENSIONS, limits)
    audio = load_wav(path, sample_rate)
    seconds = len(audio) / sample_rate
    if seconds > limits.max_audio_seconds:
        raise DataError(f"the audio clip is {seconds:.1f} s long; upload at most {limits.max_audio_seconds:g} s")
    return audio


def check_caption(text: str | None, limits: UploadLimits) -> str:
    """A stripped, non-empty caption of bounded length."""
    caption = (text or "").strip()
    if not caption:
        raise DataError("the caption is empty; describe the image to generate, e.g. \"a smiling face with red hair\"")
    if len(caption) > limits.max_caption_chars:
        raise DataError(f"the caption has {len(caption)} characters; use at most {limits.max_caption_chars}")
    return caption
