"""``toyfaces``: deterministic procedural faces rendered in aligned domains (photo, sketch, seg,
caption, audio), so every translation task has paired ground truth without a download."""
from __future__ import annotations

from .caption import caption
from .generate import DOMAINS, MANIFEST, generate_toyfaces, toyfaces_arrays
from .params import ToyFaceParams, sample_params
from .rendering import render
from .seg import SEG_CLASSES, SEG_PALETTE, seg_to_rgb
from .sound import SAMPLE_RATE as AUDIO_SAMPLE_RATE

__all__ = [
    "AUDIO_SAMPLE_RATE", "DOMAINS", "MANIFEST", "SEG_CLASSES", "SEG_PALETTE", "ToyFaceParams", "caption",
    "generate_toyfaces", "render", "sample_params", "seg_to_rgb", "toyfaces_arrays",
]
