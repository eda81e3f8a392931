"""Tiny fixtures for the GPD tests: a 16 px teacher on disk and a few toyfaces pairs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gandistill.teacher import StyleGAN2Config, Teacher
from gandistill.teacher.presets import PRESETS

TINY = PRESETS["tiny"].model  # the shared tiny test config


def make_teacher(path: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    t = Teacher(StyleGAN2Config(**TINY))
    with torch.no_grad():  # visible noise strengths make the const-noise path matter
        for m in t.G.modules():
            if hasattr(m, "noise_strength"):
                m.noise_strength.fill_(0.1)
    t.save_pretrained(path)
    return path


def write_images(folder: Path, arrays: np.ndarray, prefix: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, a in enumerate(arrays):
        Image.fromarray(a).save(folder / f"{prefix}{i:03d}.png")
    return folder


def toy_pairs(folder: Path, n: int = 4, res: int = 16) -> Path:
    from gandistill.data import toyfaces_arrays

    arr = toyfaces_arrays(n, res, seed=3, domains=("photo", "sketch"))
    write_images(folder / "A", arr["photo"])
    write_images(folder / "B", arr["sketch"])
    return folder


