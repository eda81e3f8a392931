"""Face geometry: the signed-distance field of every part of one face on a sampling grid.

Photo, sketch and segmentation are all drawn from this one set of fields, so they are
aligned pixel to pixel by construction.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import sdf
from .params import ToyFaceParams

Array = np.ndarray

# Parts in painter's order (back to front) with their segmentation label.
PARTS: tuple[tuple[str, int], ...] = (
    ("hair_back", 2),
    ("neck", 1),
    ("ears", 1),
    ("head", 1),
    ("hair_front", 2),
    ("nose", 5),
    ("eyes", 3),
    ("brows", 4),
    ("mouth", 6),
    ("glasses", 7),
)

_FAR = 10.0  # distance used for "this part is absent"


@dataclass
class FaceGeometry:
    x: Array  # image coordinates in 0..1 (pixel centres)
    y: Array
    u: Array  # face-frame coordinates (centred on the head, rotated with it)
    v: Array
    px: float  # size of one grid cell
    parts: dict[str, Array] = field(default_factory=dict)  # SDF per entry of PARTS
    details: dict[str, Array] = field(default_factory=dict)  # inner features (iris, teeth, ...)
    shading: dict[str, Array] = field(default_factory=dict)  # 0..1 light and shadow fields
    light: tuple[float, float] = (0.0, 0.0)  # unit direction towards the light, face frame


def _grid(n: int) -> tuple[Array, Array]:
    c = (np.arange(n, dtype=np.float32) + 0.5) / n
    return np.meshgrid(c, c)  # x varies along columns, y along rows


class _Face:
    """Layout of one face: derived sizes and the SDFs that are evaluated more than once (shadows)."""

    def __init__(self, p: ToyFaceParams):
        self.p = p
        self.squash = 1.0 - 0.12 * abs(p.yaw)
        self.a = p.head_width / 2 * self.squash
        self.b = p.head_height / 2
        self.fo = 0.05 * p.yaw  # features slide towards the side the face turns to
        self.eye_y = -0.02 * self.b
        hv = p.hair_volume * (1.6 if p.hair_style == "curly" else 1.0)
        self.ha = self.a + hv
        self.hb = self.b * 0.9 + hv
        self.hcy = -self.b * 0.1
        self.hcx = self.fo * 0.3

    def head(self, u: Array, v: Array) -> Array:
        # Egg shape: the lower half narrows towards the chin by `jaw`.
        t = np.clip(v / self.b, 0.0, 1.0)
        scale = 1.0 - self.p.jaw * 0.3 * t * t
        return sdf.ellipse(u / scale, v, self.fo * 0.15, 0.0, self.a, self.b)

    def _hair_outer(self, u: Array, v: Array) -> Array:
        d = sdf.ellipse(u, v, self.hcx, self.hcy, self.ha, self.hb)
        if self.p.hair_style == "curly":
            theta = np.arctan2(v - self.hcy, u - self.hcx)
            d = d - self.p.hair_volume * 0.6 * (0.5 + 0.5 * np.sin(13 * theta + self.p.fringe * 6))
        return d

    def hair_back(self, u: Array, v: Array) -> Array:
        s, b = self.p.hair_style, self.b
        if s == "long":
            bottom, hw, r = b * 1.9, self.ha + 0.012, 0.1
        elif s == "bob":
            bottom, hw, r = b * 0.55, self.ha + 0.006, 0.06
        elif s == "curly":
            bottom, hw, r = b * 0.35, self.ha, 0.12
        else:
            return np.full_like(u, _FAR)
        # A dome (the outer hair ellipse) on top of a rounded box hanging down to `bottom`.
        top = self.hcy
        d = sdf.round_box(u, v, self.hcx, (top + bottom) / 2, hw, (bottom - top) / 2, min(r, hw))
        return sdf.union(d, self._hair_outer(u, v))

    def hair_front(self, u: Array, v: Array) -> Array:
        p, a, b = self.p, self.a, self.b
        if p.hair_style == "bald":
            # Tufts above the ears.
            return sdf.union(
                sdf.ellipse(u, v, self.fo * 0.15 - a * 0.93, -b * 0.2, 0.03, 0.07),
                sdf.ellipse(u, v, self.fo * 0.15 + a * 0.93, -b * 0.2, 0.03, 0.07),
            )
        outer = self._hair_outer(u, v)
        hc = -b * (0.78 - 0.42 * p.fringe)  # hairline at the centre of the forehead
        v_side = -b * 0.05  # sideburn level
        power = 8.0 if p.hair_style == "bob" else 2.5  # bob: straight-cut bangs
        t = np.clip(np.abs(u - self.hcx) / a, 0.0, 1.5)
        hairline = hc + (v_side - hc) * t**power
        if p.hair_style == "curly":
            hairline = hairline + 0.012 * np.sin(u * 90.0)
        d = sdf.intersect(outer, v - hairline)
        if p.hair_style in ("long", "bob", "curly"):
            # Locks that hang in front of the ears and frame the face.
            sides = sdf.intersect(self.hair_back(u, v), a * 0.86 - np.abs(u - self.hcx))
            d = sdf.union(d, sides)
        return d

    def nose(self, u: Array, v: Array) -> Array:
        p = self.p
        top, tip = self.eye_y + 0.02, self.eye_y + 0.03 + p.nose_length
        x = self.fo * 1.2
        bridge = sdf.segment(u, v, x, top, x, tip - 0.01, p.nose_width * 0.18)
        ball = sdf.ellipse(u, v, x, tip - 0.005, p.nose_width / 2, p.nose_width * 0.32)
        return sdf.union(bridge, ball)


def build_geometry(p: ToyFaceParams, n: int) -> FaceGeometry:
    """Evaluate every part of face ``p`` on an ``n`` x ``n`` grid."""
    x, y = _grid(n)
    cos, sin = float(np.cos(p.rotation)), float(np.sin(p.rotation))  # Python floats keep arrays float32
    dx, dy = x - (0.5 + p.shift_x), y - (0.52 + p.shift_y)
    u = (cos * dx + sin * dy).astype(np.float32)
    v = (-sin * dx + cos * dy).astype(np.float32)
    f = _Face(p)
    g = FaceGeometry(x=x, y=y, u=u, v=v, px=1.0 / n)
    lx, ly = float(np.cos(p.light_angle)), float(np.sin(p.light_angle))
    g.light = (lx, ly)
    a, b, fo, eye_y = f.a, f.b, f.fo, f.eye_y

    # --- head, neck, ears, hair
    g.parts["hair_back"] = f.hair_back(u, v)
    g.parts["neck"] = sdf.round_box(u, v, fo * 0.15, b * 0.6 + 0.3, a * 0.42, 0.3, 0.05)
    ear_y = eye_y + 0.035
    g.parts["ears"] = sdf.union(
        sdf.ellipse(u, v, fo * 0.1 - a * 0.97, ear_y, 0.035, 0.06),
        sdf.ellipse(u, v, fo * 0.1 + a * 0.97, ear_y, 0.035, 0.06),
    )
    g.parts["head"] = f.head(u, v)
    g.parts["hair_front"] = f.hair_front(u, v)
    g.parts["nose"] = f.nose(u, v)

    # --- eyes
    eyes, iris, pupil, glint, lid = [], [], [], [], []
    ex = [fo - p.eye_spacing / 2 * f.squash, fo + p.eye_spacing / 2 * f.squash]
    eh = p.eye_size * 0.62 * (0.55 if p.expression == "laughing" else 1.0)
    for side, cx in zip((-1, 1), ex):
        ew = p.eye_size * (1.0 + 0.3 * p.yaw * side)
        eyes.append(sdf.ellipse(u, v, cx, eye_y, ew, eh))
        ir = min(eh * 0.95, ew * 0.7)
        icx = cx + 0.25 * ew * p.yaw
        iris.append(sdf.circle(u, v, icx, eye_y, ir))
        pupil.append(sdf.circle(u, v, icx, eye_y, ir * 0.45))
        glint.append(sdf.circle(u, v, icx - ir * 0.35, eye_y - ir * 0.35, ir * 0.22))
        lid.append(sdf.ellipse(u, v, cx, eye_y + eh * 0.3, ew * 1.05, eh * 0.95))
    g.parts["eyes"] = sdf.union(*eyes)
    g.details["iris"] = sdf.intersect(sdf.union(*iris), g.parts["eyes"])
    g.details["pupil"] = sdf.intersect(sdf.union(*pupil), g.parts["eyes"])
    g.details["glint"] = sdf.union(*glint)
    # Upper-lid line: the band of the eye above a slightly lowered copy of itself.
    g.details["lid"] = sdf.intersect(g.parts["eyes"], -sdf.union(*lid))

    # --- brows (frowning pulls the inner ends down)
    angle = p.brow_angle + (0.35 if p.expression == "frowning" else 0.0)
    brows = []
    by = eye_y - eh - 0.03 - 0.1 * p.eye_size
    for side, cx in zip((-1, 1), ex):
        half = p.eye_size * 1.15
        rise = float(np.tan(angle)) * half
        brows.append(sdf.segment(u, v, cx - side * half, by + rise, cx + side * half, by - rise,
                                 p.brow_thickness / 2))
    g.parts["brows"] = sdf.union(*brows)

    # --- nose details
    tip = eye_y + 0.03 + p.nose_length
    nx = fo * 1.2
    g.details["nostrils"] = sdf.union(
        sdf.ellipse(u, v, nx - p.nose_width * 0.22, tip + p.nose_width * 0.12, p.nose_width * 0.11, 0.006),
        sdf.ellipse(u, v, nx + p.nose_width * 0.22, tip + p.nose_width * 0.12, p.nose_width * 0.11, 0.006),
    )

    # --- mouth: a lens between two parabolas bent by `smile`, opened by `mouth_open`
    mcx, mcy = fo * 1.1, tip + 0.055 + 0.02 * (b - 0.3) / 0.04
    hw = p.mouth_width * 0.7
    mx, my = u - mcx, v - mcy
    t = np.clip(mx / hw, -1.0, 1.0)
    k = 0.028 * p.smile
    centre = k * (1 - t * t) + p.mouth_open * 0.012 * (1 - t * t)
    slope = np.sqrt(1.0 + (2 * k * t / hw) ** 2)
    env = np.sqrt(np.clip(1 - t * t, 0.0, 1.0))
    thick = (0.02 + p.mouth_open * 0.04) * env + 0.004
    g.parts["mouth"] = sdf.intersect((np.abs(my - centre) - thick / 2) / slope, np.abs(mx) - hw)
    inner = p.mouth_open * 0.034 * env - 0.003
    g.details["mouth_inner"] = sdf.intersect((np.abs(my - centre) - inner / 2) / slope, np.abs(mx) - hw * 0.9)
    g.details["teeth"] = sdf.intersect(g.details["mouth_inner"], my - centre + inner * 0.12)
    # Closed mouth: distance to the line between the lips (>= 0 everywhere; 0 on the line).
    lip = sdf.intersect(np.abs(my - centre) / slope, np.abs(mx) - hw * 0.95)
    g.details["lip_line"] = lip if p.mouth_open == 0 else np.full_like(u, _FAR)

    # --- glasses
    if p.glasses != "none":
        # Lens size follows the eye but never so big that the two lenses touch.
        R = min(p.eye_size * 1.5 + 0.012, (ex[1] - ex[0]) / 2 / (1.08 if p.glasses == "square" else 1.0) - 0.012)
        th = 0.006 + 0.004 * (p.glasses_colour == "black")
        rims, lenses = [], []
        for cx in ex:
            if p.glasses == "round":
                d = sdf.circle(u, v, cx, eye_y, R)
            else:
                d = sdf.round_box(u, v, cx, eye_y + R * 0.05, R * 1.08, R * 0.78, 0.018)
            lenses.append(d)
            rims.append(np.abs(d) - th)
        bridge_y = eye_y - R * 0.25
        reach = R * (1.08 if p.glasses == "square" else 1.0) - 0.004
        rims.append(sdf.segment(u, v, ex[0] + reach, bridge_y, ex[1] - reach, bridge_y, th))
        for side, cx in zip((-1, 1), ex):
            rims.append(sdf.segment(u, v, cx + side * reach, bridge_y, fo * 0.15 + side * a * 0.99, bridge_y - 0.01,
                                    th * 0.9))
        g.parts["glasses"] = sdf.union(*rims)
        g.details["lens"] = sdf.union(*lenses)
    else:
        g.parts["glasses"] = np.full_like(u, _FAR)
        g.details["lens"] = np.full_like(u, _FAR)

    # --- lighting: pseudo-normals of head and hair ellipsoids, and soft cast shadows
    s = p.light_strength
    lz = float(np.sqrt(1 - s * s))
    nu, nv = (u - fo * 0.6) / a, v / b
    nz = np.sqrt(np.clip(1 - nu * nu - nv * nv, 0.0, 1.0))
    g.shading["head"] = np.clip(nu * lx * s + nv * ly * s + nz * lz, 0.0, 1.0)
    hu, hv = (u - f.hcx) / (f.ha + 0.02), (v - f.hcy) / (f.hb + 0.02)
    hz = np.sqrt(np.clip(1 - hu * hu - hv * hv, 0.0, 1.0))
    g.shading["hair"] = np.clip(hu * lx * s + hv * ly * s + np.maximum(hz, 0.3) * lz, 0.0, 1.0)
    off = 0.025
    g.shading["hair_shadow"] = sdf.soft(f.hair_front(u + lx * off, v + ly * off), 0.03)
    g.shading["nose_shadow"] = sdf.soft(f.nose(u + lx * 0.015, v + ly * 0.015), 0.015)
    g.shading["chin_shadow"] = sdf.soft(f.head(u, v + 0.035), 0.03)
    g.shading["drop_shadow"] = sdf.soft(sdf.union(f.head(u + lx * 0.05, v + ly * 0.05),
                                                  f.hair_back(u + lx * 0.05, v + ly * 0.05)), 0.08)
    return g
