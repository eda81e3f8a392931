"""Differentiable augmentation for limited-data GAN training: DiffAugment and ADA (adaptive p).

Both are applied to every image the discriminator sees (real and fake), so the generator is not
pushed to reproduce the augmentations. ADA's probability p is tuned from the sign of D on reals.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def _per_sample(x: torch.Tensor, p: float) -> torch.Tensor:
    """Boolean mask [N, 1, 1, 1]: which samples get an augmentation applied with probability p."""
    return (torch.rand(x.shape[0], 1, 1, 1, device=x.device) < p).to(x.dtype)


def brightness(x: torch.Tensor, p: float = 1.0, strength: float = 0.5) -> torch.Tensor:
    delta = (torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5) * 2 * strength
    return x + delta * _per_sample(x, p)


def saturation(x: torch.Tensor, p: float = 1.0, max_factor: float = 2.0) -> torch.Tensor:
    if x.shape[1] == 1:
        return x
    mean = x.mean(dim=1, keepdim=True)
    factor = torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) * max_factor
    mask = _per_sample(x, p)
    return x + (x - mean) * (factor - 1) * mask


def contrast(x: torch.Tensor, p: float = 1.0) -> torch.Tensor:
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    factor = torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5
    return x + (x - mean) * (factor - 1) * _per_sample(x, p)


def translation(x: torch.Tensor, p: float = 1.0, ratio: float = 0.125) -> torch.Tensor:
    """Integer shift by up to ratio·size with zero padding (DiffAugment), via one gather."""
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    mask = _per_sample(x, p).view(n, 1, 1).long()
    tx = torch.randint(-sh, sh + 1, (n, 1, 1), device=x.device) * mask
    ty = torch.randint(-sw, sw + 1, (n, 1, 1), device=x.device) * mask
    gy, gx = torch.meshgrid(torch.arange(h, device=x.device), torch.arange(w, device=x.device), indexing="ij")
    gy = (gy.unsqueeze(0) + tx + 1).clamp(0, h + 1)
    gx = (gx.unsqueeze(0) + ty + 1).clamp(0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1])
    flat = padded.permute(0, 2, 3, 1)  # N, H+2, W+2, C
    idx_n = torch.arange(n, device=x.device).view(n, 1, 1)
    return flat[idx_n, gy, gx].permute(0, 3, 1, 2).contiguous()


def cutout(x: torch.Tensor, p: float = 1.0, ratio: float = 0.5) -> torch.Tensor:
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    oy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device)
    ox = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device)
    gy = torch.arange(h, device=x.device).view(1, h, 1)
    gx = torch.arange(w, device=x.device).view(1, 1, w)
    inside = ((gy - oy).abs() <= ch // 2) & ((gx - ox).abs() <= cw // 2)
    keep = 1 - inside.unsqueeze(1).to(x.dtype) * _per_sample(x, p)
    return x * keep


def xflip(x: torch.Tensor, p: float = 1.0) -> torch.Tensor:
    mask = _per_sample(x, p)
    return x * (1 - mask) + x.flip(3) * mask


def rotate90(x: torch.Tensor, p: float = 1.0) -> torch.Tensor:
    k = torch.randint(0, 4, (x.shape[0],), device=x.device)
    k = k * (torch.rand(x.shape[0], device=x.device) < p).long()
    out = x
    for r in range(1, 4):
        sel = (k == r).to(x.dtype).view(-1, 1, 1, 1)
        out = out * (1 - sel) + torch.rot90(x, r, dims=(2, 3)) * sel
    return out


def affine(x: torch.Tensor, p: float = 1.0, max_rotate: float = math.pi / 8, scale_std: float = 0.2) -> torch.Tensor:
    """Random rotation + isotropic scaling, bilinear with reflection padding (ADA's geometric group)."""
    n = x.shape[0]
    mask = _per_sample(x, p).view(n)
    angle = (torch.rand(n, device=x.device) * 2 - 1) * max_rotate * mask
    scale = torch.exp2(torch.randn(n, device=x.device) * scale_std * mask)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, torch.zeros_like(cos)], 1),
                         torch.stack([sin, cos, torch.zeros_like(cos)], 1)], 1).to(x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


DIFFAUG_OPS = {
    "color": (brightness, saturation, contrast),
    "translation": (translation,),
    "cutout": (cutout,),
}
ADA_OPS = (xflip, rotate90, translation, affine, brightness, contrast, saturation, cutout)


class Augment(nn.Module):
    """Discriminator-side augmentation.

    mode="diffaug": every op of ``policy`` always applied (Zhao et al. 2020).
    mode="ada": each op applied per sample with probability p, p adapted so that
    E[sign(D(real))] approaches ``target`` (Karras et al. 2020).
    """

    def __init__(self, mode: str = "none", policy: str = "color,translation,cutout", p: float = 0.0,
                 target: float = 0.6, speed_kimg: float = 100.0):
        super().__init__()
        if mode not in ("none", "diffaug", "ada"):
            raise ValueError(f"augment mode must be none|diffaug|ada, got {mode!r}")
        unknown = [k for k in policy.split(",") if k and k not in DIFFAUG_OPS]
        if unknown:
            raise ValueError(f"unknown DiffAugment policy entries {unknown}; choose from {list(DIFFAUG_OPS)}")
        self.mode, self.policy, self.target, self.speed_kimg = mode, policy, target, speed_kimg
        self.register_buffer("p", torch.tensor(float(p)))
        self._sign_sum = 0.0
        self._sign_count = 0

    def get_extra_state(self) -> dict:
        # Pending statistics travel with the training state so that --resume is exact.
        return {"sign_sum": self._sign_sum, "sign_count": self._sign_count}

    def set_extra_state(self, state: dict) -> None:
        self._sign_sum, self._sign_count = float(state["sign_sum"]), int(state["sign_count"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "diffaug":
            for key in filter(None, self.policy.split(",")):
                for op in DIFFAUG_OPS[key]:
                    x = op(x)
        elif self.mode == "ada" and float(self.p) > 0:
            p = float(self.p)
            for op in ADA_OPS:
                x = op(x, p)
        return x

    def accumulate(self, real_logits: torch.Tensor) -> None:
        """Collect sign(D(real)) for the next p update."""
        self._sign_sum += float(real_logits.detach().sign().sum())
        self._sign_count += real_logits.numel()

    def update(self, images_seen: int, sync=None) -> float | None:
        """Adjust p after ``images_seen`` images; returns r_t (the overfitting heuristic) or None."""
        if self.mode != "ada" or self._sign_count == 0:
            return None
        stats = torch.tensor([self._sign_sum, float(self._sign_count)], dtype=torch.float64)
        if sync is not None:
            stats = sync(stats)
        rt = float(stats[0] / stats[1])
        step = math.copysign(images_seen / (self.speed_kimg * 1000), rt - self.target)
        self.p.copy_((self.p + step).clamp(0.0, 1.0))
        self._sign_sum, self._sign_count = 0.0, 0
        return rt
