"""The ``audio`` domain: a short tone clip whose content encodes the face's attributes.

Hair colour sets the base pitch, skin tone a second tone an octave up, hair style the
timbre, the smile the tremolo rate, glasses a noise burst (round: short and dull,
square: long and hissy) and the background a low hum. Noise is seeded by (seed, index).
"""
from __future__ import annotations

import numpy as np

from .params import BACKGROUNDS, HAIR_COLOURS, SKIN_TONES, ToyFaceParams

SAMPLE_RATE = 16000
DURATION_S = 0.5

_BASE_HZ = (220.0, 247.0, 277.0, 311.0, 349.0, 392.0, 440.0)  # by hair colour
_SECOND_HZ = (523.0, 587.0, 659.0, 740.0, 831.0)  # by skin tone
_HUM_HZ = (90.0, 100.0, 110.0, 120.0, 130.0, 140.0, 150.0, 160.0)  # by background
_HARMONICS = {"short": (1.0,), "long": (1.0, 0.5), "bob": (1.0, 0.0, 0.45), "bald": (1.0, 0.0, 0.33, 0.0, 0.2),
              "curly": (1.0, 0.3, 0.2)}


def synthesize(p: ToyFaceParams, sample_rate: int = SAMPLE_RATE, duration_s: float = DURATION_S) -> np.ndarray:
    """Mono int16 clip of ``duration_s`` seconds."""
    rng = np.random.default_rng(np.random.SeedSequence([p.seed & 0xFFFFFFFF, p.index, 0xA0D10]))
    n = int(round(sample_rate * duration_s))
    t = np.arange(n, dtype=np.float64) / sample_rate
    f0 = _BASE_HZ[list(HAIR_COLOURS).index(p.hair_colour)]
    f1 = _SECOND_HZ[list(SKIN_TONES).index(p.skin)]
    hum = _HUM_HZ[list(BACKGROUNDS).index(p.background)]
    vibrato = 0.004 * np.sin(2 * np.pi * 6 * t) if p.hair_style == "curly" else 0.0
    phase = 2 * np.pi * f0 * t * (1 + vibrato)
    tone = sum(a * np.sin(k * phase) for k, a in enumerate(_HARMONICS[p.hair_style], start=1) if a)
    sig = 0.5 * tone + 0.3 * np.sin(2 * np.pi * f1 * t) + 0.15 * np.sin(2 * np.pi * hum * t)
    # Tremolo: 3 Hz (frown) .. 12 Hz (big smile); an open mouth deepens it.
    rate = 3.0 + 9.0 * np.clip((p.smile + 1.1) / 2.4, 0.0, 1.0)
    depth = 0.35 + 0.4 * p.mouth_open
    sig = sig * (1.0 - depth * (0.5 + 0.5 * np.sin(2 * np.pi * rate * t)))
    if p.glasses != "none":
        noise = rng.normal(0.0, 1.0, n)
        if p.glasses == "round":
            noise = np.convolve(noise, np.ones(8) / 8, mode="same")  # dull: low-passed
            start, length = 0.3, 0.06
        else:
            noise = np.diff(noise, prepend=0.0) * 0.6  # hissy: high-passed
            start, length = 0.25, 0.15
        burst = np.exp(-0.5 * ((t - start - length / 2) / (length / 4)) ** 2)
        sig = sig + 0.6 * noise * burst
    else:
        sig = sig + 0.01 * rng.normal(0.0, 1.0, n)  # faint room noise so clips are never exactly tonal
    fade = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.01)  # 10 ms fades: no clicks
    sig = sig * fade
    sig = 0.8 * sig / max(np.abs(sig).max(), 1e-9)
    return np.round(sig * 32767).astype(np.int16)
