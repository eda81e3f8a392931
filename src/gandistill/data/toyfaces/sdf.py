"""Vectorised 2-D signed-distance primitives (negative inside) and helpers to turn them into coverage."""
from __future__ import annotations

import numpy as np

Array = np.ndarray


def circle(x: Array, y: Array, cx: float, cy: float, r: float) -> Array:
    return np.hypot(x - cx, y - cy) - r


def ellipse(x: Array, y: Array, cx: float, cy: float, a: float, b: float) -> Array:
    """Approximate distance to an axis-aligned ellipse (exact on the axes, good enough for anti-aliasing)."""
    px, py = (x - cx) / a, (y - cy) / b
    k0 = np.sqrt(px * px + py * py)
    k1 = np.sqrt((px / a) ** 2 + (py / b) ** 2)
    # k0 * (k0 - 1) / k1 is the first-order distance estimate; guard the centre where k1 = 0.
    return k0 * (k0 - 1.0) / np.maximum(k1, 1e-6)


def round_box(x: Array, y: Array, cx: float, cy: float, hw: float, hh: float, r: float) -> Array:
    qx = np.abs(x - cx) - hw + r
    qy = np.abs(y - cy) - hh + r
    outside = np.hypot(np.maximum(qx, 0.0), np.maximum(qy, 0.0))
    return outside + np.minimum(np.maximum(qx, qy), 0.0) - r


def segment(x: Array, y: Array, ax: float, ay: float, bx: float, by: float, r: float) -> Array:
    """Capsule: distance to the segment a-b minus radius r."""
    dx, dy = bx - ax, by - ay
    t = np.clip(((x - ax) * dx + (y - ay) * dy) / max(dx * dx + dy * dy, 1e-12), 0.0, 1.0)
    return np.hypot(x - ax - t * dx, y - ay - t * dy) - r


def union(*ds: Array) -> Array:
    out = ds[0]
    for d in ds[1:]:
        out = np.minimum(out, d)
    return out


def intersect(*ds: Array) -> Array:
    out = ds[0]
    for d in ds[1:]:
        out = np.maximum(out, d)
    return out


def coverage(d: Array, px: float) -> Array:
    """Fraction of a pixel of size ``px`` inside the shape: a 1-pixel linear ramp across the edge."""
    return np.clip(0.5 - d / px, 0.0, 1.0)


def soft(d: Array, width: float) -> Array:
    """Smooth 0..1 falloff over ``width`` outside the edge (1 inside), for soft shadows and glows."""
    t = np.clip(1.0 - d / width, 0.0, 1.0)
    return np.where(d <= 0, 1.0, t * t * (3 - 2 * t))


def stroke(d: Array, width: float) -> Array:
    """Pencil line along the zero set of ``d``: 1 on the edge, fading over ``width``."""
    t = d / width
    return np.exp(-t * t)


def box_down(img: np.ndarray, ss: int) -> np.ndarray:
    """Average ``ss`` x ``ss`` blocks (strided sums are several times faster than reshape+mean)."""
    if ss == 1:
        return img
    out = sum(img[i::ss, j::ss] for i in range(ss) for j in range(ss))
    return out * np.float32(1.0 / (ss * ss))
