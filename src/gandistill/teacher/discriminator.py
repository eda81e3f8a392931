"""StyleGAN2 residual discriminator with minibatch standard deviation."""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from ..io.pretrained import PretrainedMixin
from ..io.registry import register_model
from .config import StyleGAN2Config
from .layers import EqualConv2d, EqualLinear


class DiscriminatorBlock(nn.Module):
    """conv0 (3×3) → conv1 (blur, 3×3 stride 2); skip = blur, 1×1 stride 2; output (main + skip) / √2."""

    def __init__(self, in_channels: int, out_channels: int, blur_kernel: tuple[int, ...]):
        super().__init__()
        self.conv0 = EqualConv2d(in_channels, in_channels, 3)
        self.conv1 = EqualConv2d(in_channels, out_channels, 3, down=True, blur_kernel=blur_kernel)
        self.skip = EqualConv2d(in_channels, out_channels, 1, bias=False, activate=False, down=True,
                                blur_kernel=blur_kernel)
        # the residual's 1/√2 is folded into both branches' weights (one elementwise pass fewer)
        self.conv1.out_gain = self.skip.out_gain = 1 / math.sqrt(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv1(self.conv0(x)) + self.skip(x)


def minibatch_stddev(x: torch.Tensor, group_size: int) -> torch.Tensor:
    """Append one channel: the std over a group of samples (n, n+N/G, …), averaged over C, H, W.

    Groups follow rosinality/NVlabs (sample n shares statistics with n ± N/G). When N is not a
    multiple of the group size, the largest divisor of N not above it is used.
    """
    n, c, h, w = x.shape
    g = min(group_size, n)
    while n % g:
        g -= 1
    y = x.reshape(g, -1, 1, c, h, w)
    y = (y - y.mean(dim=0)).square().mean(dim=0)
    y = (y + 1e-8).sqrt().mean(dim=(2, 3, 4))  # [N/G, 1]
    y = y.reshape(-1, 1, 1, 1).repeat(g, 1, h, w)
    return torch.cat([x, y], dim=1)


@register_model(kind="discriminator")
class Discriminator(PretrainedMixin, nn.Module):
    config_class = StyleGAN2Config

    def __init__(self, cfg: StyleGAN2Config):
        super().__init__()
        self.config = cfg
        bk = tuple(cfg.blur_kernel)
        top = cfg.resolution
        self.fromrgb = EqualConv2d(cfg.img_channels, cfg.ch(top), 1)
        self.block_resolutions = [r for r in reversed(cfg.resolutions) if r > 4]
        self.blocks = nn.ModuleList(DiscriminatorBlock(cfg.ch(r), cfg.ch(r // 2), bk) for r in self.block_resolutions)
        c4 = cfg.ch(4)
        self.conv = EqualConv2d(c4 + 1, c4, 3)
        self.fc = EqualLinear(c4 * 16, c4, activate=True)
        self.out = EqualLinear(c4, 1)

    def trunk(self, img: torch.Tensor) -> dict[int, torch.Tensor]:
        """Per-resolution features: {R: fromrgb output, R/2: after block, …, 4: input of the epilogue}."""
        self._check_input(img)
        x = self.fromrgb(img)
        feats = {self.config.resolution: x}
        for res, block in zip(self.block_resolutions, self.blocks):
            x = block(x)
            feats[res // 2] = x
        return feats

    def _check_input(self, img: torch.Tensor) -> None:
        if img.ndim != 4 or img.shape[1] != self.config.img_channels or img.shape[-1] != self.config.resolution:
            raise ValueError(f"discriminator expects [N, {self.config.img_channels}, {self.config.resolution}, "
                             f"{self.config.resolution}] images, got {list(img.shape)}")

    def epilogue(self, x: torch.Tensor, parts: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        """4×4 features → (logits [N, 1], penultimate features [N, C4]); ``parts``: x holds that many
        independent batches of equal size, one after the other (minibatch-stddev groups stay within each)."""
        if parts > 1:
            x = torch.cat([minibatch_stddev(part, self.config.mbstd_group) for part in x.chunk(parts)])
        else:
            x = minibatch_stddev(x, self.config.mbstd_group)
        x = self.conv(x)
        h = self.fc(x.flatten(1))
        return self.out(h), h

    #: ``pair`` runs the blocks from this resolution down as one batch (above it, as two: large convolutions
    #: gain nothing from a larger batch, while small ones run far below the machine's rate at batch 8)
    pair_join_resolution = 16

    def pair(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(D(a), D(b))`` for two independent batches of equal size: the same logits up to float rounding,
        with the low-resolution blocks and the epilogue run once on both (the minibatch-stddev groups stay
        within each batch). For the D phase's fakes and reals: ~15 % less time in D at 32 px on CPU."""
        if a.shape != b.shape:
            return self(a), self(b)
        self._check_input(a)
        parts: list[torch.Tensor] = [self.fromrgb(a), self.fromrgb(b)]
        for res, block in zip(self.block_resolutions, self.blocks):
            if len(parts) == 2 and res <= self.pair_join_resolution:
                parts = [torch.cat(parts)]
            parts = [block(x) for x in parts]
        logits, _ = self.epilogue(torch.cat(parts) if len(parts) == 2 else parts[0], parts=2)
        return logits[:len(a)], logits[len(a):]

    def forward(self, img: torch.Tensor, return_features: bool = False):
        feats = self.trunk(img)
        logits, h = self.epilogue(feats[4])
        if return_features:
            feats = dict(feats)
            feats[0] = h  # key 0: the penultimate (vector) features
            return logits, feats
        return logits
