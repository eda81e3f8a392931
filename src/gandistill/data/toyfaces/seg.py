"""The ``seg`` domain: integer label maps, their class names and a colour palette for viewing them."""
from __future__ import annotations

import numpy as np

from .geometry import PARTS, FaceGeometry
from .sdf import box_down, coverage

SEG_CLASSES: tuple[str, ...] = ("background", "skin", "hair", "eyes", "brows", "nose", "mouth", "glasses")

# One distinct colour per class, index-aligned with SEG_CLASSES.
SEG_PALETTE = np.array(
    [
        (0, 0, 0),
        (230, 180, 140),
        (120, 60, 20),
        (40, 120, 255),
        (255, 220, 0),
        (255, 90, 60),
        (220, 0, 120),
        (0, 220, 120),
    ],
    dtype=np.uint8,
)


def seg_labels(g: FaceGeometry, ss: int) -> np.ndarray:
    """Label map at output size: a pixel takes the front-most part covering at least half of it."""
    n = g.u.shape[0] // ss
    labels = np.zeros((n, n), dtype=np.uint8)
    for name, label in PARTS:
        labels[box_down(coverage(g.parts[name], g.px), ss) >= 0.5] = label
    return labels


def seg_to_rgb(seg: np.ndarray) -> np.ndarray:
    """Colour a label map (H, W) with SEG_PALETTE for viewing; labels outside the palette are white."""
    seg = np.asarray(seg)
    palette = np.concatenate([SEG_PALETTE, np.full((256 - len(SEG_PALETTE), 3), 255, np.uint8)])
    return palette[seg.astype(np.uint8)]
