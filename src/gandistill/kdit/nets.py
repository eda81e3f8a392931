"""Building blocks shared by the KDIT students: a D_T-shaped trunk, a ws head, the projection
discriminator and the frozen perceptual feature extractor."""
from __future__ import annotations

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..teacher.config import StyleGAN2Config
from ..teacher.discriminator import Discriminator, DiscriminatorBlock
from ..teacher.layers import EqualConv2d
from ..teacher.ops import conv1x1
from ..teacher.model import stylegan2_part
from ..teacher.projected_discriminator import ProjectedDiscriminator




class DTrunk(nn.Module):
    """The teacher discriminator's trunk (fromRGB + residual blocks) as a feature encoder.

    ``in_channels`` other than the teacher's image channels (one-hot segmentation maps) gives a new,
    randomly initialised first layer; every other weight can be copied from D_T.
    Returns ``{R: fromRGB output, R/2: …, 4: last features}`` like ``Discriminator.trunk``.
    """

    def __init__(self, cfg: StyleGAN2Config, in_channels: int | None = None):
        super().__init__()
        self.resolution = cfg.resolution
        self.in_channels = in_channels or cfg.img_channels
        bk = tuple(cfg.blur_kernel)
        self.fromrgb = EqualConv2d(self.in_channels, cfg.ch(cfg.resolution), 1)
        self.block_resolutions = [r for r in reversed(cfg.resolutions) if r > 4]
        self.blocks = nn.ModuleList(DiscriminatorBlock(cfg.ch(r), cfg.ch(r // 2), bk) for r in self.block_resolutions)
        self.out_channels = cfg.ch(4)

    @torch.no_grad()
    def load_from_discriminator(self, D: Discriminator | ProjectedDiscriminator) -> None:
        D = stylegan2_part(D)
        if self.in_channels == D.config.img_channels:
            self.fromrgb.load_state_dict(D.fromrgb.state_dict())
        self.blocks.load_state_dict(D.blocks.state_dict())

    def forward(self, x: torch.Tensor) -> dict[int, torch.Tensor]:
        if x.ndim != 4 or x.shape[1] != self.in_channels or x.shape[-2:] != (self.resolution, self.resolution):
            raise ValueError(f"encoder expects [N, {self.in_channels}, {self.resolution}, {self.resolution}] "
                             f"inputs, got {list(x.shape)}")
        x = self.fromrgb(x)
        feats = {self.resolution: x}
        for res, block in zip(self.block_resolutions, self.blocks):
            x = block(x)
            feats[res // 2] = x
        return feats


class ProjectedTrunk(nn.Module):
    """A frozen copy of a projected D whose forward is its ``trunk`` (``{res: projected features}``)."""

    def __init__(self, D: ProjectedDiscriminator):
        super().__init__()
        self.D = copy.deepcopy(D).requires_grad_(False)

    def forward(self, img: torch.Tensor) -> dict[int, torch.Tensor]:
        return self.D.trunk(img)


class WsHead(nn.Module):
    """4×4 features → ws [N, num_ws, w_dim] = w_avg + MLP(features); the last layer starts at zero,
    so a fresh head outputs the teacher's ``w_avg`` for every input."""

    def __init__(self, in_features: int, num_ws: int, w_dim: int, hidden: int | None = None):
        super().__init__()
        self.num_ws, self.w_dim = num_ws, w_dim
        hidden = hidden or 2 * w_dim
        self.fc = nn.Linear(in_features, hidden)
        self.out = nn.Linear(hidden, num_ws * w_dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        delta = self.out(F.leaky_relu(self.fc(h.flatten(1)), 0.2))
        return self.w_avg + delta.view(-1, self.num_ws, self.w_dim)


class Conv1x1(nn.Conv2d):
    """``nn.Conv2d(in, out, 1)`` (same parameters and state-dict keys) that runs channels-last inputs as
    one matmul over the channel axis (``teacher.ops.conv1x1``): torch's own 1×1 conv takes a slow path on
    CPU that copies channels-last activations to NCHW and back."""

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True):
        super().__init__(in_channels, out_channels, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return conv1x1(x, self.weight.flatten(1), self.bias)


def zero_adaptor(in_channels: int, out_channels: int) -> Conv1x1:
    """1×1 conv starting at exactly zero (the student equals the teacher until it learns otherwise)."""
    conv = Conv1x1(in_channels, out_channels)
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


class ProjectionDiscriminator(nn.Module):
    """D_T plus a projection term on the condition c: ``logit = D(img) + <embed(c), φ(img)>``.
    With ``c_dim=0`` it is D_T unchanged (the I2I adversarial loss)."""

    def __init__(self, cfg: StyleGAN2Config, c_dim: int = 0):
        super().__init__()
        self.D = Discriminator(cfg)
        self.embed = nn.Linear(c_dim, cfg.ch(4), bias=False) if c_dim else None
        if self.embed is not None:
            nn.init.zeros_(self.embed.weight)

    @classmethod
    def from_teacher(cls, D_T: Discriminator | ProjectedDiscriminator, c_dim: int = 0) -> "ProjectionDiscriminator":
        d = cls(D_T.config, c_dim)
        d.D.load_state_dict(stylegan2_part(D_T).state_dict())
        return d

    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        logits, h = self.D.epilogue(self.D.trunk(img)[4])
        if self.embed is not None and c is not None:
            logits = logits + (self.embed(c) * h).sum(dim=1, keepdim=True) / h.shape[1] ** 0.5
        return logits


class TrunkPerceptual(nn.Module):
    """Perceptual distance on the frozen teacher discriminator trunk (ours: the only fixed
    feature extractor guaranteed offline). LPIPS-style: channel-normalised features, squared
    difference, averaged over positions, summed over resolutions. A projected D_T gives its projected
    ImageNet features instead."""

    def __init__(self, D_T: Discriminator | ProjectedDiscriminator):
        super().__init__()
        if isinstance(D_T, ProjectedDiscriminator):
            self.trunk = ProjectedTrunk(D_T)
        else:
            self.trunk = DTrunk(D_T.config)
            self.trunk.load_from_discriminator(D_T)
        self.requires_grad_(False).eval()

    def train(self, mode: bool = True) -> "TrunkPerceptual":
        return super().train(False)  # always frozen

    def features(self, img: torch.Tensor) -> dict[int, torch.Tensor]:
        return {r: f / (f.square().sum(1, keepdim=True) + 1e-8).sqrt() for r, f in self.trunk(img).items()}

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        fa, fb = self.features(a), self.features(b)
        return sum((fa[r] - fb[r]).square().sum(1).mean() for r in fa)


def frozen_copy(module: nn.Module) -> nn.Module:
    return copy.deepcopy(module).requires_grad_(False).eval()
