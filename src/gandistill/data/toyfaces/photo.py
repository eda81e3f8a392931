"""The ``photo`` domain: shaded colour rendering of a face's geometry."""
from __future__ import annotations

import numpy as np

from .geometry import FaceGeometry
from .params import ToyFaceParams
from .sdf import coverage

Array = np.ndarray


def _rgb(c) -> Array:
    return np.asarray(c, dtype=np.float32) / 255.0


def _over(img: Array, d: Array, colour, px: float, alpha: float = 1.0) -> Array:
    """Paint ``colour`` (RGB or an (n, n, 3) field) over ``img`` in place where ``d`` covers it."""
    cov = coverage(d, px)
    rows = np.flatnonzero(cov.any(axis=1))
    if rows.size == 0:
        return img  # part absent (no glasses, open mouth has no lip line, ...)
    cols = np.flatnonzero(cov.any(axis=0))
    # Blend only the part's bounding box: most parts (eyes, nose, mouth) are small.
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    colour = np.asarray(colour, dtype=np.float32)
    if colour.ndim == 3:
        colour = colour[box]
    img[box] += (colour - img[box]) * (cov[box] * np.float32(alpha))[..., None]
    return img


def paint_photo(g: FaceGeometry, p: ToyFaceParams) -> Array:
    """Float image (n, n, 3) in 0..1 on the geometry's grid."""
    px, u, v = g.px, g.u, g.v
    sh = g.shading
    # Background: two-colour gradient, vignette and the face's soft drop shadow.
    ca, sa = float(np.cos(p.background_angle)), float(np.sin(p.background_angle))
    t = np.clip((g.x - 0.5) * ca + (g.y - 0.5) * sa + 0.5, 0.0, 1.0)[..., None]
    img = _rgb(p.background_rgb) * (1 - t) + _rgb(p.background_rgb2) * t
    r2 = (g.x - 0.5) ** 2 + (g.y - 0.5) ** 2
    img = img * (1.0 - 0.35 * r2)[..., None] * (1.0 - 0.3 * sh["drop_shadow"])[..., None]

    # Hair: ellipsoid light plus strands (curly: a dotted texture).
    if p.hair_style == "curly":
        texture = 1.0 + 0.14 * np.sin(u * 120.0) * np.sin(v * 120.0)
    else:
        theta = np.arctan2(v + 0.35, u)
        texture = 1.0 + 0.07 * np.sin(theta * 70.0 + p.fringe * 9)
    hair = _rgb(p.hair_rgb) * ((0.45 + 0.75 * sh["hair"]) * texture)[..., None]
    img = _over(img, g.parts["hair_back"], hair * 0.8, px)

    # Skin: lit head ellipsoid, darkened under the hair and beside the nose; pink cheeks.
    skin = _rgb(p.skin_rgb)
    light = (0.5 + 0.6 * sh["head"]) * (1.0 - 0.3 * sh["hair_shadow"])
    outside_nose = np.clip(g.parts["nose"] / px, 0.0, 1.0)
    light = light * (1.0 - 0.22 * sh["nose_shadow"] * outside_nose)
    face = skin * light[..., None]
    neck = skin * (0.72 * (1.0 - 0.35 * sh["chin_shadow"]))[..., None]
    img = _over(img, g.parts["neck"], neck, px)
    img = _over(img, g.parts["ears"], face * 0.93, px)
    img = _over(img, g.parts["head"], face, px)
    cheek_y = -0.02 * (p.head_height / 2) + 0.03 + p.nose_length + 0.01
    for side in (-1, 1):
        cheek = np.hypot(u - (0.05 * p.yaw + side * p.eye_spacing * 0.55), v - cheek_y) / 0.05
        blush = np.clip(1.0 - cheek, 0.0, 1.0) ** 2 * (0.3 if p.expression in ("smiling", "laughing") else 0.12)
        img = img + (np.array([0.95, 0.45, 0.45], np.float32) - img) * (blush * (g.parts["head"] < 0))[..., None]
    img = _over(img, g.parts["hair_front"], hair, px)

    # Nose: a highlighted bridge with nostrils; its shadow was put on the cheek above.
    img = _over(img, g.parts["nose"], face * 1.06, px)
    img = _over(img, g.details["nostrils"], skin * 0.35, px)

    # Eyes: sclera, iris, pupil, glint, upper-lid line.
    white = np.array([0.96, 0.95, 0.93], np.float32) * (0.8 + 0.2 * sh["head"])[..., None]
    img = _over(img, g.parts["eyes"], white, px)
    img = _over(img, g.details["iris"], _rgb(p.eye_rgb), px)
    img = _over(img, g.details["pupil"], (0.05, 0.04, 0.04), px)
    img = _over(img, g.details["glint"], (1.0, 1.0, 1.0), px, 0.9)
    img = _over(img, g.details["lid"], (0.1, 0.07, 0.06), px)

    brow = _rgb(p.hair_rgb) * 0.6 if p.hair_style != "bald" else _rgb(p.hair_rgb) * 0.4
    img = _over(img, g.parts["brows"], brow, px)

    # Mouth: lips, dark inside and teeth when open, lip line when closed.
    lips = _rgb(p.lip_rgb) * (0.6 + 0.45 * sh["head"])[..., None]
    img = _over(img, g.parts["mouth"], lips, px)
    img = _over(img, g.details["mouth_inner"], (0.25, 0.05, 0.06), px)
    img = _over(img, g.details["teeth"], (0.95, 0.94, 0.9), px)
    img = _over(img, g.details["lip_line"] - px * 0.4, _rgb(p.lip_rgb) * 0.45, px)

    # Glasses: lightly tinted lenses with a reflection, then the frame.
    img = _over(img, g.details["lens"], (0.85, 0.92, 1.0), px, 0.18)
    frame = _rgb(p.glasses_rgb) * (0.8 + 0.4 * sh["head"])[..., None]
    img = _over(img, g.parts["glasses"], frame, px)
    return np.clip(img, 0.0, 1.0)
