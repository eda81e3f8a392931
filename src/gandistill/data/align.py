"""FFHQ-style face alignment from 68 dlib landmarks (optional: ``pip install dlib-bin face-recognition-models``).

    from gandistill.data.align import align_face, align_folder
    img = align_face("photo.jpg", size=256)               # PIL.Image, size x size, eyes level and centred
    summary = align_folder("photos/", "aligned/", size=256, skip_missing=True)

The recipe is the one used to build FFHQ (Karras et al. 2019): from the eye centres and mouth corners,
an oriented square is placed so that the eyes are level, the eye line sits a little above the centre and
the whole head fits; that square is cropped (padding the photo where it runs past the border) and
resampled to ``size``. When the eye distance sets the scale, the eyes land at about
``CANONICAL_EYES`` (fractions of the output size).

Photos can also be used unaligned: alignment only matters for teachers trained on aligned faces.
"""
from __future__ import annotations

import functools
import importlib.util
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageFilter

from ..errors import DataError
from .images import image_to_array, list_images, name_some, no_images_error, open_image, require_folder

ImageLike = str | Path | Image.Image | np.ndarray
PadMode = Literal["reflect", "edge", "constant", "blur"]
PAD_MODES: tuple[str, ...] = ("reflect", "edge", "constant", "blur")
# (x, y) of the left and right eye centres as fractions of the output, for faces whose eye distance sets
# the scale (eye-to-eye ≥ 0.9 × eye-to-mouth): eyes 1/4 of the width apart, slightly above the middle.
CANONICAL_EYES: tuple[tuple[float, float], tuple[float, float]] = ((0.375, 0.475), (0.625, 0.475))
_PREDICTOR = "shape_predictor_68_face_landmarks.dat"
_INSTALL = ("face alignment needs the optional packages dlib-bin and face-recognition-models: "
            "pip install dlib-bin face-recognition-models (or `pip install gandistill[align]`); "
            "alignment is optional, photos can also be used unaligned")
_DETECT_MAX_SIDE = 1024  # detect on a downscaled copy: HOG cost grows with pixels, landmarks use full res


def _perp(v: np.ndarray) -> np.ndarray:
    """``v`` turned by +90° in image coordinates (x right, y down): (1, 0) -> (0, 1)."""
    return np.array([-v[1], v[0]])


def alignment_quad(landmarks: np.ndarray) -> np.ndarray:
    """The FFHQ crop square for 68 (x, y) landmarks: corners top-left, bottom-left, bottom-right, top-right."""
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.shape != (68, 2):
        raise ValueError(f"expected 68 (x, y) landmarks (dlib's 68-point layout), got shape {lm.shape}")
    eye_left, eye_right = lm[36:42].mean(0), lm[42:48].mean(0)
    eye_avg, eye_to_eye = (eye_left + eye_right) / 2, eye_right - eye_left
    mouth_avg = (lm[48] + lm[54]) / 2  # outer mouth corners
    eye_to_mouth = mouth_avg - eye_avg
    # Horizontal axis: the eye line averaged with the (turned) eye-to-mouth line, so a crooked mouth
    # or eye line alone does not tilt the crop.
    x = eye_to_eye - _perp(eye_to_mouth)
    x = x / np.hypot(*x) * max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = _perp(x)
    c = eye_avg + eye_to_mouth * 0.1
    return np.stack([c - x - y, c - x + y, c + x + y, c + x - y])


def _pad(arr: np.ndarray, pads: tuple[int, int, int, int], mode: str, blur_radius: float) -> np.ndarray:
    """Pad (H, W, 3) uint8 by (left, top, right, bottom); 'blur' fades the padding like FFHQ does."""
    left, top, right, bottom = pads
    np_mode = "reflect" if mode == "blur" else mode
    out = np.pad(arr, ((top, bottom), (left, right), (0, 0)), mode=np_mode)  # type: ignore[call-overload]
    if mode != "blur":
        return out
    h, w = out.shape[:2]
    ys, xs = np.arange(h, dtype=np.float32)[:, None], np.arange(w, dtype=np.float32)[None, :]
    # 0 inside the photo, rising to 1 at the outer edge of the padding.
    fx = np.maximum(np.maximum(left - xs, xs - (w - 1 - right)), 0) / max(left, right, 1)
    fy = np.maximum(np.maximum(top - ys, ys - (h - 1 - bottom)), 0) / max(top, bottom, 1)
    mask = np.clip(np.maximum(fx, fy), 0.0, 1.0)[..., None]
    img = out.astype(np.float32)
    blurred = np.asarray(Image.fromarray(out).filter(ImageFilter.GaussianBlur(blur_radius)), dtype=np.float32)
    # Mirrored pixels would show a second face: blur them, then fade towards the photo's median colour.
    img += (blurred - img) * np.clip(mask * 3.0, 0.0, 1.0)
    img += (np.median(img, axis=(0, 1)) - img) * mask
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def warp_quad(image: Image.Image, quad: np.ndarray, size: int, pad_mode: PadMode = "blur") -> Image.Image:
    """Resample the square ``quad`` of ``image`` (RGB) to a ``size`` x ``size`` image, padding past the border."""
    if pad_mode not in PAD_MODES:
        raise ValueError(f"pad_mode must be one of {', '.join(PAD_MODES)}, got {pad_mode!r}")
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    quad = np.asarray(quad, dtype=np.float64).copy()
    qsize = float(np.hypot(*(quad[3] - quad[0])))
    shrink = math.floor(qsize / size * 0.5)
    if shrink > 1:  # box-downscale large photos first: faster, and no aliasing from the bilinear warp
        image = image.reduce(shrink)
        quad /= shrink
        qsize /= shrink
    arr = np.asarray(image.convert("RGB"))
    h, w = arr.shape[:2]
    border = max(round(qsize * 0.1), 3)
    x0, y0 = (math.floor(v) - border for v in quad.min(0))
    x1, y1 = (math.ceil(v) + border for v in quad.max(0))
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if cx1 <= cx0 or cy1 <= cy0:
        raise ValueError("the face square lies outside the image")
    arr = arr[cy0:cy1, cx0:cx1]
    quad -= (cx0, cy0)
    pads = (max(-x0, 0), max(-y0, 0), max(x1 - w, 0), max(y1 - h, 0))
    if any(pads):
        arr = _pad(arr, pads, pad_mode, blur_radius=qsize * 0.02)
        quad += (pads[0], pads[1])
    # Render at up to 4x the output when the square is larger, then Lanczos down: sharp and alias-free.
    render = size if qsize <= size else min(round(qsize), 4 * size)
    out = Image.fromarray(arr).transform((render, render), Image.Transform.QUAD, quad.flatten().tolist(),
                                         resample=Image.Resampling.BILINEAR)
    return out if render == size else out.resize((size, size), Image.Resampling.LANCZOS)


def find_shape_predictor() -> Path:
    """Path of dlib's 68-landmark model shipped in ``face_recognition_models`` (located without importing it)."""
    spec = importlib.util.find_spec("face_recognition_models")
    roots = list(spec.submodule_search_locations or []) if spec else []
    for root in roots:
        path = Path(root) / "models" / _PREDICTOR
        if path.is_file():
            return path
    raise DataError(f"{_PREDICTOR} not found: {_INSTALL}")


@functools.lru_cache(maxsize=1)
def _dlib_models() -> tuple[Any, Any]:
    """(face detector, landmark predictor), loaded once per process (the predictor file is ~100 MB)."""
    try:
        import dlib
    except ImportError:
        raise DataError(_INSTALL) from None
    return dlib.get_frontal_face_detector(), dlib.shape_predictor(str(find_shape_predictor()))


def _load_rgb(image: ImageLike) -> tuple[Image.Image, str]:
    """(RGB image, name for messages) from a path, a PIL image or an (H, W[, C]) uint8 array."""
    if isinstance(image, (str, Path)):
        return Image.fromarray(image_to_array(open_image(image), 3)), str(image)
    if isinstance(image, Image.Image):
        return Image.fromarray(image_to_array(image, 3)), "the given image"
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.dtype != np.uint8 or not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4))):
        raise DataError(f"expected an (H, W), (H, W, 3) or (H, W, 4) uint8 array, got {arr.dtype} {arr.shape}")
    return Image.fromarray(image_to_array(Image.fromarray(np.ascontiguousarray(arr)), 3)), "the given array"


def detect_landmarks(image: ImageLike) -> list[np.ndarray]:
    """68 (x, y) landmarks for every face dlib finds, largest face first (an empty list if none).

    Raises DataError when dlib or its landmark model is not installed.
    """
    rgb, _ = _load_rgb(image)
    detector, predictor = _dlib_models()
    import dlib

    full = np.asarray(rgb)
    scale = min(1.0, _DETECT_MAX_SIDE / max(rgb.size))
    small = full if scale == 1.0 else np.asarray(rgb.resize(
        (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale))), Image.Resampling.BILINEAR))
    upsample = 1 if max(small.shape[:2]) < 512 else 0  # the HOG detector misses faces under ~80 px otherwise
    rects = sorted(detector(small, upsample), key=lambda r: r.width() * r.height(), reverse=True)
    found = []
    for r in rects:
        big = dlib.rectangle(round(r.left() / scale), round(r.top() / scale),
                             round(r.right() / scale), round(r.bottom() / scale))
        shape = predictor(full, big)
        found.append(np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64))
    return found


def _no_face(name: str) -> DataError:
    return DataError(f"no face found in {name}; use the photo unaligned (skip `gandistill data align`) "
                     "or crop it by hand")


def align_face(image: ImageLike, size: int = 256, face: int | Literal["largest"] = "largest",
               pad_mode: PadMode = "blur", landmarks: np.ndarray | None = None) -> Image.Image:
    """FFHQ-aligned ``size`` x ``size`` RGB crop of one face in ``image`` (a path, PIL image or uint8 array).

    ``face``: "largest" or an index into the faces sorted largest first. ``landmarks`` (68 x 2) skips
    detection. Raises DataError naming the file when no face is found or dlib is not installed.
    """
    rgb, name = _load_rgb(image)
    if landmarks is None:
        faces = detect_landmarks(rgb)
        if not faces:
            raise _no_face(name)
        index = 0 if face == "largest" else int(face)
        if not 0 <= index < len(faces):
            raise DataError(f"{name} has {len(faces)} face(s); face index {index} does not exist")
        landmarks = faces[index]
    return warp_quad(rgb, alignment_quad(landmarks), size, pad_mode)


@dataclass
class AlignSummary:
    """What ``align_folder`` did: written files, and inputs skipped because no face was found."""
    written: list[Path] = field(default_factory=list)
    no_face: list[Path] = field(default_factory=list)
    inputs: int = 0

    def __str__(self) -> str:
        text = f"aligned {self.inputs - len(self.no_face)} of {self.inputs} image(s), wrote {len(self.written)}"
        if self.no_face:
            text += f"; no face found in {len(self.no_face)}: {name_some([p.name for p in self.no_face])}"
        return text


def align_folder(source: str | Path, output: str | Path, size: int = 256, skip_missing: bool = False,
                 face: int | Literal["largest", "all"] = "largest", pad_mode: PadMode = "blur",
                 progress: bool = True) -> AlignSummary:
    """Align one image or every image under a folder into ``output`` as PNGs (sub-folders kept).

    ``face="all"`` writes ``<name>_<i>.png`` per face, largest first. Without ``skip_missing`` an image
    with no face raises DataError; with it, the image is reported and skipped.
    """
    from ..utils.logging import progress_bar

    src = Path(source)
    if src.is_file():
        files, rel = [src], [Path(src.name)]
    else:
        require_folder(src, "input folder")
        files = list_images(src)
        if not files:
            raise no_images_error(src)
        rel = [f.relative_to(src) for f in files]
    out = Path(output)
    summary = AlignSummary(inputs=len(files))
    seen: set[Path] = set()
    bar = progress_bar(len(files), desc="align", enabled=progress and len(files) > 1)
    bar.unit = "image"
    try:
        for path, r in zip(files, rel):
            rgb, _ = _load_rgb(path)
            faces = detect_landmarks(rgb)
            if not faces:
                if not skip_missing:
                    raise DataError(f"{_no_face(str(path))}; pass --skip-missing (skip_missing=True) to skip such "
                                    "images")
                summary.no_face.append(path)
                bar.write(f"no face found in {path}: skipped", file=sys.stderr)
            chosen = range(len(faces)) if face == "all" else [0 if face == "largest" else int(face)]
            for i in chosen if faces else []:
                if not 0 <= i < len(faces):
                    raise DataError(f"{path} has {len(faces)} face(s); face index {i} does not exist")
                name = r.with_suffix(".png") if face != "all" else r.with_name(f"{r.stem}_{i}.png")
                dest = out / name
                if dest in seen:  # e.g. a.png and a.jpg side by side would overwrite each other
                    raise DataError(f"{path} and another input both align to {dest}; rename one of them")
                seen.add(dest)
                dest.parent.mkdir(parents=True, exist_ok=True)
                warp_quad(rgb, alignment_quad(faces[i]), size, pad_mode).save(dest)
                summary.written.append(dest)
            bar.update(1)
    finally:
        bar.close()
    return summary
