"""StyleGAN2 generator: mapping network z → w and synthesis network ws → image.

    G = Generator(StyleGAN2Config(resolution=32))
    ws = G.mapping(z, psi=0.7)              # [N, num_ws, w_dim]
    img = G.synthesis(ws, noise_mode="const")
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..io.pretrained import PretrainedMixin
from ..io.registry import register_model
from .config import StyleGAN2Config
from .layers import EqualLinear, NoiseMode, StyledConv, ToRGB


def mix_ws(w1: torch.Tensor, w2: torch.Tensor, k: torch.Tensor | int) -> torch.Tensor:
    """Style mixing: ws rows < k from w1, rows >= k from w2 (k an int or one per sample)."""
    n, num_ws = w1.shape[:2]
    if not torch.is_tensor(k):
        k = torch.full((n,), int(k), dtype=torch.long, device=w1.device)
    rows = torch.arange(num_ws, device=w1.device)
    take1 = (rows[None, :] < k.to(w1.device)[:, None]).unsqueeze(-1)
    return torch.where(take1, w1, w2)


class MappingNetwork(nn.Module):
    """PixelNorm then an MLP (lr multiplier 0.01); tracks ``w_avg`` for truncation."""

    def __init__(self, z_dim: int, w_dim: int, num_ws: int, num_layers: int, lr_mul: float = 0.01):
        super().__init__()
        self.z_dim, self.w_dim, self.num_ws = z_dim, w_dim, num_ws
        dims = [z_dim] + [w_dim] * num_layers
        self.layers = nn.ModuleList(
            EqualLinear(dims[i], dims[i + 1], lr_mul=lr_mul, activate=True) for i in range(num_layers))
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: torch.Tensor, psi: float = 1.0, truncation_cutoff: int | None = None) -> torch.Tensor:
        x = z * torch.rsqrt(z.square().mean(dim=1, keepdim=True) + 1e-8)
        for layer in self.layers:
            x = layer(x)
        ws = x.unsqueeze(1).repeat(1, self.num_ws, 1)
        if psi != 1.0:
            cut = self.num_ws if truncation_cutoff is None else truncation_cutoff
            ws[:, :cut] = self.w_avg.lerp(ws[:, :cut], psi)
        return ws

    @torch.no_grad()
    def update_w_avg(self, ws: torch.Tensor, beta: float = 0.995) -> None:
        """Running mean of w (used as the truncation centre)."""
        w = ws[:, 0] if ws.ndim == 3 else ws
        self.w_avg.copy_(w.detach().mean(0).lerp(self.w_avg, beta))


class SynthesisBlock(nn.Module):
    """One resolution: (upsampling conv0,) conv1 and toRGB. Block b reads ws[2b-1], ws[2b], ws[2b+1]."""

    def __init__(self, index: int, resolution: int, in_channels: int, out_channels: int, cfg: StyleGAN2Config):
        super().__init__()
        self.index, self.resolution = index, resolution
        bk = tuple(cfg.blur_kernel)
        if index == 0:
            self.const = nn.Parameter(torch.randn(out_channels, 4, 4))
        else:
            self.conv0 = StyledConv(in_channels, out_channels, cfg.w_dim, resolution, up=True, blur_kernel=bk)
        self.conv1 = StyledConv(out_channels, out_channels, cfg.w_dim, resolution, blur_kernel=bk)
        self.torgb = ToRGB(out_channels, cfg.img_channels, cfg.w_dim, blur_kernel=bk)

    @property
    def ws_range(self) -> tuple[int, int]:
        """Slots [first, last] of ws this block reads (the last is shared with the next block's conv0)."""
        return max(0, 2 * self.index - 1), 2 * self.index + 1

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, ws: torch.Tensor,
                noise_mode: NoiseMode = "random") -> tuple[torch.Tensor, torch.Tensor]:
        b = self.index
        if b == 0:
            x = self.const.unsqueeze(0).expand(ws.shape[0], -1, -1, -1).to(ws.dtype)
        else:
            x = self.conv0(x, ws[:, 2 * b - 1], noise_mode)
        x = self.conv1(x, ws[:, 2 * b], noise_mode)
        img = self.torgb(x, ws[:, 2 * b + 1], img)
        return x, img


class SynthesisNetwork(nn.Module):
    def __init__(self, cfg: StyleGAN2Config):
        super().__init__()
        self.num_ws = cfg.num_ws
        self.blocks = nn.ModuleList()
        for i, res in enumerate(cfg.resolutions):
            in_ch = cfg.ch(res // 2) if i > 0 else 0
            self.blocks.append(SynthesisBlock(i, res, in_ch, cfg.ch(res), cfg))

    def forward(self, ws: torch.Tensor, noise_mode: NoiseMode = "random",
                return_features: bool = False) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """ws [N, num_ws, w_dim] → image [N, C, R, R]; with ``return_features`` also each block's activation."""
        img, feats, _ = self.run_blocks(ws, noise_mode=noise_mode)
        return (img, feats) if return_features else img

    def run_blocks(self, ws: torch.Tensor, start: int = 0, stop: int | None = None,
                   x: torch.Tensor | None = None, img: torch.Tensor | None = None,
                   noise_mode: NoiseMode = "random") -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
        """Run blocks [start, stop) from state (x, img); returns (img, per-block activations, x).

        Lets callers share a common prefix of the network between several ws (style-mixed triplets).
        """
        if ws.ndim != 3 or ws.shape[1] != self.num_ws:
            raise ValueError(f"ws must be [N, {self.num_ws}, w_dim], got {list(ws.shape)}")
        feats = []
        for block in self.blocks[start:stop]:
            x, img = block(x, img, ws, noise_mode)
            feats.append(x)
        return img, feats, x


@register_model(kind="generator", loader="gandistill.Generator")
class Generator(PretrainedMixin, nn.Module):
    """StyleGAN2 generator (``config_class`` = StyleGAN2Config)."""

    config_class = StyleGAN2Config

    def __init__(self, cfg: StyleGAN2Config):
        super().__init__()
        self.config = cfg
        self.mapping = MappingNetwork(cfg.z_dim, cfg.w_dim, cfg.num_ws, cfg.mapping_layers, cfg.mapping_lr_mul)
        self.synthesis = SynthesisNetwork(cfg)

    z_dim = property(lambda self: self.config.z_dim)
    w_dim = property(lambda self: self.config.w_dim)
    num_ws = property(lambda self: self.config.num_ws)
    resolution = property(lambda self: self.config.resolution)
    img_channels = property(lambda self: self.config.img_channels)

    def forward(self, z: torch.Tensor, psi: float = 1.0, noise_mode: NoiseMode = "random") -> torch.Tensor:
        return self.synthesis(self.mapping(z, psi=psi), noise_mode=noise_mode)
