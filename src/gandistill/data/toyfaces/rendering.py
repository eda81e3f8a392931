"""Render one face's parameters into every domain (photo, sketch, seg, caption, audio)."""
from __future__ import annotations

import numpy as np

from .caption import caption
from .geometry import build_geometry
from .params import ToyFaceParams
from .photo import paint_photo
from .seg import seg_labels
from .sketch import paint_sketch
from .sdf import box_down
from .sound import synthesize

SUPERSAMPLE = 2  # grid points per output pixel along each axis (anti-aliasing)


def _u8(img: np.ndarray) -> np.ndarray:
    return np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)


def render(params: ToyFaceParams, res: int, domains=("photo", "sketch", "seg", "caption", "audio")) -> dict:
    """Return ``{"photo": (res,res,3) uint8, "sketch": (res,res,3) uint8, "seg": (res,res) uint8,
    "caption": str, "audio": (8000,) int16}`` (only the keys in ``domains``)."""
    if res < 8:
        raise ValueError(f"res must be >= 8, got {res}")
    out: dict = {}
    image_domains = {"photo", "sketch", "seg"} & set(domains)
    if image_domains:
        ss = SUPERSAMPLE
        g = build_geometry(params, res * ss)
        if "photo" in domains:
            out["photo"] = _u8(box_down(paint_photo(g, params), ss))
        if "sketch" in domains:
            grey = _u8(box_down(paint_sketch(g, params, res), ss))
            out["sketch"] = np.repeat(grey[..., None], 3, axis=2)
        if "seg" in domains:
            out["seg"] = seg_labels(g, ss)
    if "caption" in domains:
        out["caption"] = caption(params)
    if "audio" in domains:
        out["audio"] = synthesize(params)
    return out
