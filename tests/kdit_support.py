"""Tiny teacher and data shared by the KDIT tests (16 px, ≤16 channels)."""
from __future__ import annotations

from pathlib import Path

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




def kdit_workdir(root: Path, n_pairs: int = 10) -> Teacher:
    """``root`` with a tiny ``teacher``, undistilled ``i2i`` / ``x2i`` students made from it and ``toy``
    (toyfaces pairs); returns the teacher as loaded back from its directory."""
    from gandistill.data import generate_toyfaces
    from gandistill.kdit.i2i import I2IStudent
    from gandistill.kdit.x2i import X2IStudent

    tiny_teacher().save_pretrained(root / "teacher")
    teacher = Teacher.from_pretrained(root / "teacher")
    for cls, name in ((I2IStudent, "i2i"), (X2IStudent, "x2i")):
        cls.from_teacher(teacher).save_pretrained(root / name, parents={"teacher": teacher.source_hash},
                                                  extra={"teacher_dir": str(root / "teacher")})
    generate_toyfaces(root / "toy", n=n_pairs, res=16, seed=0, progress=False, workers=1)
    return teacher
