"""Tiny teacher and data shared by the KDIT tests (16 px, ≤16 channels)."""
from __future__ import annotations

import torch

from gandistill.teacher import StyleGAN2Config, Teacher
from gandistill.teacher.presets import preset_model


def tiny_config() -> StyleGAN2Config:
    return preset_model("tiny")


def tiny_teacher(seed: int = 0) -> Teacher:
    """Random weights, but a non-zero w_avg and noise strengths so the equality tests are not trivial."""
    torch.manual_seed(seed)
    t = Teacher(tiny_config())
    with torch.no_grad():
        t.G.mapping.w_avg.normal_()
        for name, p in t.G.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.2)
    return t.eval().requires_grad_(False)


