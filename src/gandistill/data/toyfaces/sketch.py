"""The ``sketch`` domain: pencil outlines of the same parts on paper, hatching on hair and shadow."""
from __future__ import annotations

import numpy as np

from .geometry import PARTS, FaceGeometry
from .params import ToyFaceParams
from .sdf import coverage, stroke

Array = np.ndarray

# How dark each part's outline is drawn (0..1).
_OUTLINE = {
    "hair_back": 0.75, "neck": 0.6, "ears": 0.6, "head": 0.85, "hair_front": 0.8,
    "nose": 0.45, "eyes": 0.9, "brows": 0.8, "mouth": 0.9, "glasses": 0.95,
}


def _noise_rng(p: ToyFaceParams) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([p.seed & 0xFFFFFFFF, p.index, 0x5E7C4]))


def _luma(rgb) -> float:
    r, g, b = rgb
    return (0.299 * r + 0.587 * g + 0.114 * b) / 255.0


def paint_sketch(g: FaceGeometry, p: ToyFaceParams, res: int) -> Array:
    """Float grey image (n, n) in 0..1 on the geometry's grid (``res`` is the output size)."""
    rng = _noise_rng(p)
    px, u, v = g.px, g.u, g.v
    width = 0.55 / res  # pencil line half-width: about one output pixel wide
    ph = [float(x) for x in rng.uniform(0, 2 * np.pi, 2)]
    # Hand-drawn wobble: lines drift off the true edge by a fraction of a pixel.
    wobble = (0.6 / res) * np.sin(u * 31 + ph[0]) * np.sin(v * 23 + ph[1])

    # Outlines, each hidden where a part in front of it covers it.
    ink = np.zeros_like(u)
    occluded = np.zeros_like(u)
    for name, _ in reversed(PARTS):
        d = g.parts[name]
        line = _OUTLINE[name] * stroke(d + wobble, width) * (1.0 - occluded)
        ink = np.maximum(ink, line)
        occluded = np.maximum(occluded, coverage(d, px))
    visible = 1.0 - occluded  # 1 where nothing but background is

    def add(weight: Array | float, d: Array) -> None:
        nonlocal ink
        ink = np.maximum(ink, weight * stroke(d + wobble, width))

    def fill(weight: float, d: Array) -> None:
        nonlocal ink
        ink = np.maximum(ink, weight * coverage(d, px))

    fill(0.65, g.details["iris"])
    fill(0.95, g.details["pupil"])
    ink = ink * (1.0 - coverage(g.details["glint"], px))
    fill(0.85, g.details["lid"])
    fill(0.55, g.parts["brows"])
    fill(0.8, g.details["mouth_inner"])
    ink = np.where(g.details["teeth"] < 0, ink * 0.3, ink)
    add(0.85, g.details["lip_line"])
    fill(0.75, g.details["nostrils"])
    add(0.35, g.details["lens"])

    # Hatching: diagonal strokes about 3 output pixels apart.
    period = 3.0 / res
    diag1 = (0.5 + 0.5 * np.cos(2 * np.pi * (g.x + g.y) / (period * 1.414))) ** 6
    diag2 = (0.5 + 0.5 * np.cos(2 * np.pi * (g.x - g.y) / (period * 1.414))) ** 6
    hair_cov = np.maximum(coverage(g.parts["hair_front"], px),
                          coverage(g.parts["hair_back"], px) * (1 - coverage(g.parts["head"], px)))
    hair_cov = hair_cov * (1 - coverage(g.parts["eyes"], px))
    dark = 1.0 - _luma(p.hair_rgb)
    hair_hatch = (0.2 + 0.6 * dark) * diag1 + (0.6 * max(dark - 0.45, 0.0)) * diag2
    ink = np.maximum(ink, hair_cov * hair_hatch)
    skin_cov = np.maximum(coverage(g.parts["head"], px), coverage(g.parts["neck"], px))
    skin_cov = skin_cov * (1 - hair_cov) * (1 - coverage(g.parts["eyes"], px))
    shadow = np.clip(0.62 - g.shading["head"], 0.0, 1.0) * 1.6 + 0.5 * g.shading["hair_shadow"]
    neck_shadow = coverage(g.parts["neck"], px) * (1 - coverage(g.parts["head"], px)) * 0.5 * g.shading["chin_shadow"]
    ink = np.maximum(ink, skin_cov * np.clip(np.maximum(shadow, neck_shadow), 0.0, 0.6) * diag2)
    # Soft graphite smudge of the drop shadow on the paper.
    ink = np.maximum(ink, visible * 0.12 * g.shading["drop_shadow"])

    # Paper: warm white with grain; graphite is never pure black.
    n = u.shape[0]
    grain = rng.normal(0.0, 0.025, (n, n)).astype(np.float32)
    paper = 0.93 + 0.04 * (1 - (g.x - 0.5) ** 2 - (g.y - 0.5) ** 2) + grain
    return np.clip(paper * (1.0 - 0.82 * np.clip(ink, 0.0, 1.0)), 0.0, 1.0)
