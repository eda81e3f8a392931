"""X2I student (KDIT paper Fig. 2c): frozen semantic encoder S_E, conditional mapping, G_S.

    student = X2IStudent.from_teacher(teacher)                  # S_E ← D_T (frozen); synthesis ← G_T
    img = student(cond, z)            # cond: image (condition="image"), sentence embeddings (text)
                                      # or waveforms (audio)

Ours: ``c = S_E(img)`` is the spatially pooled last (4×4) trunk feature of D_T, standardised per
dimension with statistics of teacher samples (raw D features share a large common component, so
conditions would differ little after the mapping's normalisation); the conditional
mapping ``(z_s, c) → ws = w_avg + MLP([pixelnorm(z_s), rmsnorm(c)])`` starts at ``w_avg``; a
condition encoder f_X (``encoders.py``: text MLP, audio CNN) maps X into the same c space.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..io.pretrained import PretrainedMixin
from ..io.registry import register_model
from ..teacher.generator import SynthesisNetwork
from ..teacher.layers import NoiseMode
from ..teacher.model import Teacher
from .config import X2IConfig
from .encoders import AudioEncoder, TextHead
from ..teacher.projected_discriminator import PROJ_CHANNELS, ProjectedDiscriminator
from .nets import DTrunk, ProjectedTrunk


class SemanticEncoder(nn.Module):
    """S_E: frozen D_T trunk; c = mean over the 4×4 positions of the last trunk features, standardised
    with per-dimension statistics of teacher samples (``c_mean``/``c_std``, set by ``set_statistics``).
    With a projected D_T, the trunk is that D's frozen projected ImageNet features (coarsest level)."""

    def __init__(self, cfg: X2IConfig):
        super().__init__()
        if cfg.teacher.d_arch == "projected":
            self.trunk = ProjectedTrunk(ProjectedDiscriminator(cfg.teacher))
            self.c_dim = PROJ_CHANNELS[-1]
        else:
            self.trunk = DTrunk(cfg.teacher)
            self.c_dim = self.trunk.out_channels
        self.register_buffer("c_mean", torch.zeros(self.c_dim))
        self.register_buffer("c_std", torch.ones(self.c_dim))
        self.requires_grad_(False)

    @torch.no_grad()
    def set_statistics(self, images: torch.Tensor) -> None:
        """Standardise c with the mean / std of the raw features of ``images`` (teacher samples)."""
        self.c_mean.zero_()
        self.c_std.fill_(1.0)
        c = torch.cat([self(x) for x in images.split(64)])
        self.c_mean.copy_(c.mean(0))
        self.c_std.copy_(c.std(0).clamp_min(1e-4))

    def train(self, mode: bool = True) -> "SemanticEncoder":
        return super().train(False)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        feats = self.trunk(img)
        return (feats[min(feats)].mean(dim=(2, 3)) - self.c_mean) / self.c_std


class ConditionalMapping(nn.Module):
    def __init__(self, z_dim: int, c_dim: int, num_ws: int, w_dim: int, hidden: int):
        super().__init__()
        self.num_ws, self.w_dim = num_ws, w_dim
        self.net = nn.Sequential(nn.Linear(z_dim + c_dim, hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, hidden), nn.LeakyReLU(0.2))
        self.out = nn.Linear(hidden, num_ws * w_dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        z = z * torch.rsqrt(z.square().mean(1, keepdim=True) + 1e-8)
        c = c * torch.rsqrt(c.square().mean(1, keepdim=True) + 1e-8)
        delta = self.out(self.net(torch.cat([z, c], dim=1)))
        return self.w_avg + delta.view(-1, self.num_ws, self.w_dim)


@register_model(kind="kdit-x2i", loader="gandistill.KDITStudent")
class X2IStudent(PretrainedMixin, nn.Module):
    config_class = X2IConfig

    def __init__(self, cfg: X2IConfig):
        super().__init__()
        self.config = cfg
        t = cfg.teacher
        self.resolution = t.resolution
        hidden = cfg.hidden or 2 * t.w_dim
        self.S_E = SemanticEncoder(cfg)
        self.c_dim = self.S_E.c_dim
        self.mapping = ConditionalMapping(cfg.z_dim, self.c_dim, t.num_ws, t.w_dim, hidden)
        self.synthesis = SynthesisNetwork(t)
        if cfg.condition == "text":
            self.f_X = TextHead(cfg.text_dim, self.c_dim, hidden=max(hidden, 64))
        elif cfg.condition == "audio":
            self.f_X = AudioEncoder(self.c_dim, cfg.sample_rate, cfg.n_fft, cfg.hop, cfg.n_mels)
        else:
            self.f_X = None

    @classmethod
    def from_teacher(cls, teacher: Teacher, **overrides) -> "X2IStudent":
        model = cls(X2IConfig(teacher=teacher.config, **overrides))
        model.load_teacher(teacher)
        return model

    @torch.no_grad()
    def load_teacher(self, teacher: Teacher, n_stats: int = 512, seed: int = 0) -> None:
        """Copy D_T into S_E, G_T's synthesis and w_avg; standardise c on ``n_stats`` teacher samples."""
        if isinstance(teacher.D, ProjectedDiscriminator):
            self.S_E.trunk.D.load_state_dict(teacher.D.state_dict())
        else:
            self.S_E.trunk.load_from_discriminator(teacher.D)
        self.mapping.w_avg.copy_(teacher.G.mapping.w_avg)
        self.synthesis.load_state_dict(teacher.G.synthesis.state_dict())
        gen = torch.Generator().manual_seed(seed)
        z = torch.randn(n_stats, teacher.config.z_dim, generator=gen)
        device = next(teacher.parameters()).device
        imgs = torch.cat([teacher.G(zb.to(device), noise_mode="const") for zb in z.split(64)])
        self.S_E.set_statistics(imgs.to(self.mapping.w_avg.device))

    def encode(self, cond: torch.Tensor) -> torch.Tensor:
        """c of a condition batch: S_E for images, f_X for text embeddings / waveforms."""
        return self.S_E(cond) if self.f_X is None else self.f_X(cond)

    def forward(self, cond: torch.Tensor, z: torch.Tensor | None = None, noise_mode: NoiseMode = "const",
                c: torch.Tensor | None = None, return_aux: bool = False):
        c = self.encode(cond) if c is None else c
        if z is None:
            z = torch.randn(c.shape[0], self.config.z_dim, device=c.device)
        ws = self.mapping(z, c)
        img, feats, _ = self.synthesis.run_blocks(ws, noise_mode=noise_mode)
        if return_aux:
            return img, {"ws": ws, "c": c, "gen_feats": feats}
        return img

    def condition_loss(self, cond: torch.Tensor, img: torch.Tensor) -> torch.Tensor:
        """‖f_X(X) − S_E(image)‖² (fine-tuning a condition encoder)."""
        return F.mse_loss(self.encode(cond), self.S_E(img))
