"""KDIT loss terms: small callables ``term(ctx) -> Tensor`` over one :class:`LossContext`.

The engines fill the context with what a step computed (output/target image pairs, predicted/true
latents, student/teacher activations, discriminator logits) and add ``weight · term(ctx)`` for
every term whose weight (config field ``w_<name>``) is non-zero, so any term can be switched
off for an ablation (``--w-perceptual 0``). A term whose inputs the step did not compute
contributes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F

from ..teacher.loss import g_nonsaturating

Feats = list[torch.Tensor] | dict[int, torch.Tensor]


@dataclass
class LossContext:
    pairs: list[tuple[torch.Tensor, torch.Tensor]] = field(default_factory=list)  # (output, target) images
    latents: list[tuple[torch.Tensor, torch.Tensor]] = field(default_factory=list)  # (predicted, true) ws
    conds: list[tuple[torch.Tensor, torch.Tensor]] = field(default_factory=list)  # (f_X(X), S_E(image))
    gen_feats: list[tuple[Feats, Feats]] = field(default_factory=list)  # (G_S, G_T) block activations
    enc_feats: list[tuple[Feats, Feats]] = field(default_factory=list)  # (E_S/E_R, D_T) trunk features
    fake_logits: list[torch.Tensor] = field(default_factory=list)  # D(output)
    perceptual: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None


def _zero(ctx: LossContext) -> torch.Tensor:
    for group in (ctx.pairs, ctx.latents, ctx.conds):
        if group:
            return group[0][0].new_zeros(())
    return torch.zeros(())


def _mean(values: list[torch.Tensor], ctx: LossContext) -> torch.Tensor:
    return torch.stack(values).mean() if values else _zero(ctx)


def _feat_mse(a: Feats, b: Feats) -> torch.Tensor:
    keys = a.keys() if isinstance(a, dict) else range(len(a))
    return torch.stack([F.mse_loss(a[i], b[i].detach()) for i in keys]).mean()


def l1(ctx: LossContext) -> torch.Tensor:
    return _mean([(a - b).abs().mean() for a, b in ctx.pairs], ctx)


def perceptual(ctx: LossContext) -> torch.Tensor:
    if ctx.perceptual is None:
        return _zero(ctx)
    return _mean([ctx.perceptual(a, b) for a, b in ctx.pairs], ctx)


def latent(ctx: LossContext) -> torch.Tensor:
    """‖E.ws(x) − w‖²: the teacher knows the true latents of its triplets."""
    return _mean([F.mse_loss(p, t.detach()) for p, t in ctx.latents], ctx)


def cond(ctx: LossContext) -> torch.Tensor:
    """‖f_X(X) − S_E(image)‖² (modality encoder fine-tuning)."""
    return _mean([F.mse_loss(p, t.detach()) for p, t in ctx.conds], ctx)


def gen_kd(ctx: LossContext) -> torch.Tensor:
    return _mean([_feat_mse(s, t) for s, t in ctx.gen_feats], ctx)


def enc_kd(ctx: LossContext) -> torch.Tensor:
    return _mean([_feat_mse(s, t) for s, t in ctx.enc_feats], ctx)


def adv(ctx: LossContext) -> torch.Tensor:
    return _mean([g_nonsaturating(lg) for lg in ctx.fake_logits], ctx)


TERMS: dict[str, Callable[[LossContext], torch.Tensor]] = {
    "l1": l1, "perceptual": perceptual, "latent": latent, "cond": cond, "gen_kd": gen_kd, "enc_kd": enc_kd,
    "adv": adv,
}


def weights_of(cfg) -> dict[str, float]:
    """{term: weight} from a config's ``w_<term>`` fields."""
    return {name: float(getattr(cfg, f"w_{name}", 0.0) or 0.0) for name in TERMS}


def total_loss(ctx: LossContext, weights: dict[str, float]) -> tuple[torch.Tensor, dict[str, float]]:
    total = _zero(ctx)
    stats: dict[str, float] = {}
    for name, w in weights.items():
        if w == 0:
            continue
        value = TERMS[name](ctx)
        stats[f"loss/{name}"] = float(value.detach())
        total = total + w * value
    stats["loss/G_total"] = float(total.detach())
    return total, stats
