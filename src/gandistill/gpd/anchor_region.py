"""CDC's anchor-region discrimination (Ojha et al. 2021, §3.2 "relaxed realism") and the adaptation
discriminator built from the teacher's D.

With ≤ 10 targets an image-level discriminator makes every sample copy one of the targets. CDC asks for
full-image realism only in a small *anchor region* of Z and patch-level realism everywhere else.

Definition implemented (facts from the authors' code, train.py):
- anchor points: ``k`` fixed random latents ``z_1…z_k`` (k = number of targets by default; CDC draws
  them at random, they are *not* projections of the targets);
- anchor region: the balls ``‖z − z_j‖ ≤ r`` with ``r = 2σ√z_dim``; anchor-region latents are drawn as
  ``z_j + σ·ε`` (σ = 0.1, the code's ``subspace_std``), which stay inside with overwhelming probability,
  while a free ``z ~ N(0, I)`` lies ≈ √(2·z_dim) ≫ r from every anchor;
- the discriminator's mode is decided **per sample by that distance**: image-level logit (the full D)
  inside the region, patch-level logits (a 1×1 head on an intermediate D feature map, one logit per
  position) outside; in the D phase each real image is judged in the mode of the fake at its index;
- schedule (the code's ``subspace_freq`` = 4): every ``every``-th step draws all latents from the region,
  the other steps draw free latents, so batches are homogeneous as in the authors' code.
"""
from __future__ import annotations

import copy
import math

import torch
import torch.nn as nn

from ..errors import GandistillError
from ..teacher import Teacher
from ..teacher.discriminator import Discriminator
from ..teacher.layers import EqualConv2d
from ..teacher.projected_discriminator import ProjectedDiscriminator


class AnchorRegion:
    """Fixed anchor points in Z and the balls around them (see the module docstring)."""

    def __init__(self, points: torch.Tensor, sigma: float):
        if points.ndim != 2 or len(points) < 1:
            raise ValueError("anchor points must be [k ≥ 1, z_dim]")
        self.points, self.sigma = points, float(sigma)

    @classmethod
    def random(cls, k: int, z_dim: int, sigma: float, seed: int) -> "AnchorRegion":
        return cls(torch.randn(k, z_dim, generator=torch.Generator().manual_seed(seed)), sigma)

    @property
    def radius(self) -> float:
        return 2 * self.sigma * math.sqrt(self.points.shape[1])

    def sample(self, n: int, device: torch.device | str = "cpu") -> torch.Tensor:
        """n latents ``z_j + σ·ε`` around uniformly chosen anchor points (global RNG: resumable)."""
        idx = torch.randint(len(self.points), (n,))
        return (self.points[idx] + self.sigma * torch.randn(n, self.points.shape[1])).to(device)

    def contains(self, z: torch.Tensor) -> torch.Tensor:
        """[N] bool: the latent lies within ``radius`` of an anchor point (→ image-level discrimination)."""
        d = torch.cdist(z.detach().double().cpu(), self.points.double())
        return (d.min(dim=1).values <= self.radius).to(z.device)

    def state_dict(self) -> dict:
        return {"points": self.points.clone(), "sigma": self.sigma}

    def load_state_dict(self, state: dict) -> None:
        self.points, self.sigma = state["points"].clone(), float(state["sigma"])


class TwoLevelDiscriminator(nn.Module):
    """The teacher's D with an optional patch head: ``forward(img, image_level)`` → logits [N, P].

    ``image_level`` None (or no patch head) gives the plain D's [N, 1] logits. Otherwise rows marked True
    get the image logit repeated P times and the others P patch logits, so the usual mean-of-softplus
    losses weigh every sample equally whatever its mode.
    """

    def __init__(self, D: Discriminator, patch_res: int | None = None):
        super().__init__()
        self.D = D
        self.patch_res = patch_res
        self.patch_head = None
        if patch_res is not None:
            sizes = [D.config.resolution] + [r // 2 for r in D.block_resolutions]
            if patch_res not in sizes:
                raise GandistillError(f"--patch-res {patch_res}: the discriminator has feature maps of "
                                      f"{', '.join(map(str, sizes))} px")
            self.patch_head = EqualConv2d(D.config.ch(patch_res), 1, 1, activate=False)

    def forward(self, img: torch.Tensor, image_level: torch.Tensor | None = None) -> torch.Tensor:
        if self.patch_head is None or image_level is None:
            return self.D(img)
        feats = self.D.trunk(img)
        n = img.shape[0]
        patches = self.patch_head(feats[self.patch_res]).flatten(1)  # [N, P]
        if not bool(image_level.any()):
            return patches
        logits, _ = self.D.epilogue(feats[4])  # the whole batch: minibatch-stddev sees every sample
        full = logits.view(n, 1).expand_as(patches)
        return torch.where(image_level.view(n, 1), full, patches)


def default_patch_res(resolution: int) -> int:
    """Feature map for the patch head: R/8 (32² at 256 px, as CDC's code), at least 8² (or R/2 below 16)."""
    return max(resolution // 8, min(8, resolution // 2))


def build_adapt_discriminator(teacher: Teacher, patch_res: int | None) -> TwoLevelDiscriminator:
    """The one place that turns the teacher's D into the adaptation discriminator (a trainable copy, with a
    patch head when ``patch_res`` is given). Other teacher D architectures plug in here."""
    D = teacher.D
    if isinstance(D, ProjectedDiscriminator):
        # Its heads already judge patches at four scales and its pixel D the whole image, so it adapts as it
        # is, without the anchor-region switch (docs/gpd.md).
        return TwoLevelDiscriminator(copy.deepcopy(D), None)
    if not isinstance(D, Discriminator):
        raise GandistillError(f"gpd adapt supports the StyleGAN2 and projected discriminators; this teacher's D "
                              f"is a {type(D).__name__} (add its adaptation discriminator in gpd/anchor_region.py)")
    return TwoLevelDiscriminator(copy.deepcopy(D), patch_res)
