"""Exponential moving average of a network's weights, with the half-life counted in images (StyleGAN2)."""
from __future__ import annotations

import torch


def ema_beta(batch: int, nimg: int, half_life_kimg: float, rampup: float | None) -> float:
    """Decay per step of ``batch`` images after ``nimg`` images; ``rampup`` caps the half-life at that
    fraction of the images seen so far, so early (poor) weights are forgotten quickly."""
    ema_nimg = half_life_kimg * 1000
    if rampup is not None:
        ema_nimg = min(ema_nimg, nimg * rampup)
    return 0.5 ** (batch / max(ema_nimg, 1e-8))


class EMA:
    """Keeps ``ema`` (a copy of ``net``) an average of ``net``'s parameters; buffers are copied as they are."""

    def __init__(self, ema: torch.nn.Module, net: torch.nn.Module, batch: int, half_life_kimg: float,
                 rampup: float | None = None):
        self.ema, self.net, self.batch = ema, net, batch
        self.half_life_kimg, self.rampup = half_life_kimg, rampup

    @torch.no_grad()
    def update(self, step: int) -> None:
        """Fold in ``net`` after optimisation step ``step`` (0-based)."""
        beta = ema_beta(self.batch, (step + 1) * self.batch, self.half_life_kimg, self.rampup)
        for p_ema, p in zip(self.ema.parameters(), self.net.parameters()):
            # written into p_ema directly: the same lerp bit for bit, without a temporary and a copy
            # (torch._foreach_lerp is slower on CPU: it streams every tensor through memory once per op)
            torch.lerp(p.detach(), p_ema, beta, out=p_ema)
        for b_ema, b in zip(self.ema.buffers(), self.net.buffers()):
            b_ema.copy_(b)
