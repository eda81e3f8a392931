"""Face parameters: a dataclass and the seeded sampler that draws one face per (seed, index)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# Named attributes (used by the caption and the audio clip) and their RGB prototypes.
SKIN_TONES: dict[str, tuple[int, int, int]] = {
    "pale": (246, 218, 200),
    "light": (236, 192, 160),
    "tan": (206, 150, 108),
    "brown": (150, 98, 66),
    "dark": (96, 62, 44),
}
HAIR_COLOURS: dict[str, tuple[int, int, int]] = {
    "black": (34, 30, 32),
    "brown": (104, 66, 40),
    "blonde": (226, 190, 112),
    "red": (184, 70, 36),
    "grey": (170, 170, 176),
    "blue": (52, 92, 200),
    "pink": (230, 120, 170),
}
HAIR_STYLES = ("short", "long", "bob", "bald", "curly")
EYE_COLOURS: dict[str, tuple[int, int, int]] = {
    "brown": (92, 56, 30),
    "blue": (60, 120, 200),
    "green": (70, 140, 80),
    "grey": (120, 130, 140),
}
GLASSES = ("none", "round", "square")
GLASSES_COLOURS: dict[str, tuple[int, int, int]] = {
    "black": (25, 25, 30),
    "red": (190, 30, 40),
    "gold": (200, 160, 60),
    "blue": (40, 70, 180),
}
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "blue": (70, 120, 210),
    "green": (80, 170, 100),
    "red": (200, 70, 70),
    "yellow": (230, 200, 80),
    "purple": (140, 90, 190),
    "grey": (150, 150, 155),
    "orange": (235, 140, 60),
    "teal": (60, 170, 170),
}
EXPRESSIONS = ("neutral", "smiling", "laughing", "frowning")

# Bumped when sampling or rendering changes, so saved datasets say which generator made them.
TOYFACES_VERSION = 1


@dataclass
class ToyFaceParams:
    """Everything that determines one face. Lengths are in units of the image width (0..1)."""

    seed: int
    index: int
    # head
    head_width: float
    head_height: float
    jaw: float  # 0 = round chin, 1 = narrow pointed chin
    skin: str
    skin_rgb: tuple[int, int, int]
    # hair
    hair_style: str
    hair_colour: str
    hair_rgb: tuple[int, int, int]
    hair_volume: float  # how far hair stands off the head
    fringe: float  # how low the hairline comes on the forehead
    # eyes and brows
    eye_size: float
    eye_spacing: float
    eye_colour: str
    eye_rgb: tuple[int, int, int]
    brow_thickness: float
    brow_angle: float  # radians; positive raises the outer ends
    # nose and mouth
    nose_length: float
    nose_width: float
    expression: str
    mouth_width: float
    smile: float  # curvature: >0 corners up, <0 corners down
    mouth_open: float  # 0 = closed lips
    lip_rgb: tuple[int, int, int]
    # glasses
    glasses: str
    glasses_colour: str
    glasses_rgb: tuple[int, int, int]
    # background and lighting
    background: str
    background_rgb: tuple[int, int, int]
    background_rgb2: tuple[int, int, int]
    background_angle: float  # direction of the gradient, radians
    light_angle: float  # direction the light comes from in the image plane, radians
    light_strength: float
    # pose
    shift_x: float
    shift_y: float
    rotation: float  # radians
    yaw: float  # -1..1, turns the face left/right by squashing and sliding the features

    def to_dict(self) -> dict:
        """JSON-ready dict (tuples become lists)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


def _rng(seed: int, index: int) -> np.random.Generator:
    # Own stream per (seed, index): sample i is the same whatever n or start is.
    return np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(index), 0x7F4CE5]))


def _jitter(rng: np.random.Generator, rgb: tuple[int, int, int], amount: float) -> tuple[int, int, int]:
    out = np.asarray(rgb, dtype=np.float64) * (1.0 + rng.uniform(-amount, amount)) + rng.normal(0, 6, 3)
    return tuple(int(v) for v in np.clip(np.round(out), 0, 255))


def _choice(rng: np.random.Generator, options, p=None) -> str:
    return str(options[int(rng.choice(len(options), p=p))])


def sample_params(seed: int, index: int) -> ToyFaceParams:
    """Draw the parameters of face ``index`` of dataset ``seed`` (deterministic)."""
    if index < 0:
        raise ValueError(f"index must be >= 0, got {index}")
    rng = _rng(seed, index)
    skin = _choice(rng, list(SKIN_TONES))
    hair_style = _choice(rng, HAIR_STYLES, p=[0.28, 0.26, 0.2, 0.08, 0.18])
    hair_colour = _choice(rng, list(HAIR_COLOURS), p=[0.22, 0.22, 0.18, 0.14, 0.1, 0.07, 0.07])
    eye_colour = _choice(rng, list(EYE_COLOURS))
    glasses = _choice(rng, GLASSES, p=[0.5, 0.25, 0.25])
    glasses_colour = _choice(rng, list(GLASSES_COLOURS))
    background = _choice(rng, list(BACKGROUNDS))
    expression = _choice(rng, EXPRESSIONS, p=[0.3, 0.35, 0.2, 0.15])
    smile, mouth_open = {
        "neutral": (rng.uniform(-0.2, 0.25), 0.0),
        "smiling": (rng.uniform(0.7, 1.2), 0.0),
        "laughing": (rng.uniform(0.8, 1.3), rng.uniform(0.55, 1.0)),
        "frowning": (rng.uniform(-1.1, -0.6), 0.0),
    }[expression]
    skin_rgb = _jitter(rng, SKIN_TONES[skin], 0.05)
    lip = np.asarray(skin_rgb) * np.array([0.95, 0.6, 0.6]) + np.array([20, 0, 0])
    bg = _jitter(rng, BACKGROUNDS[background], 0.08)
    bg2 = tuple(int(np.clip(c * rng.uniform(0.55, 0.8) + rng.uniform(0, 40), 0, 255)) for c in bg)
    return ToyFaceParams(
        seed=int(seed),
        index=int(index),
        head_width=float(rng.uniform(0.44, 0.56)),
        head_height=float(rng.uniform(0.56, 0.68)),
        jaw=float(rng.uniform(0.0, 1.0)),
        skin=skin,
        skin_rgb=skin_rgb,
        hair_style=hair_style,
        hair_colour=hair_colour,
        hair_rgb=_jitter(rng, HAIR_COLOURS[hair_colour], 0.12),
        hair_volume=float(rng.uniform(0.02, 0.06)),
        fringe=float(rng.uniform(0.0, 1.0)),
        eye_size=float(rng.uniform(0.045, 0.07)),
        eye_spacing=float(rng.uniform(0.17, 0.23)),
        eye_colour=eye_colour,
        eye_rgb=_jitter(rng, EYE_COLOURS[eye_colour], 0.1),
        brow_thickness=float(rng.uniform(0.012, 0.03)),
        brow_angle=float(rng.uniform(-0.35, 0.3)),
        nose_length=float(rng.uniform(0.06, 0.1)),
        nose_width=float(rng.uniform(0.035, 0.06)),
        expression=expression,
        mouth_width=float(rng.uniform(0.09, 0.14)),
        smile=float(smile),
        mouth_open=float(mouth_open),
        lip_rgb=tuple(int(v) for v in np.clip(lip, 0, 255)),
        glasses=glasses,
        glasses_colour=glasses_colour,
        glasses_rgb=_jitter(rng, GLASSES_COLOURS[glasses_colour], 0.1),
        background=background,
        background_rgb=bg,
        background_rgb2=bg2,
        background_angle=float(rng.uniform(0, 2 * np.pi)),
        light_angle=float(rng.uniform(0, 2 * np.pi)),
        light_strength=float(rng.uniform(0.35, 0.75)),
        shift_x=float(rng.uniform(-0.05, 0.05)),
        shift_y=float(rng.uniform(-0.04, 0.04)),
        rotation=float(rng.uniform(-0.15, 0.15)),
        yaw=float(rng.uniform(-0.6, 0.6)),
    )
