"""KDIT loss terms on the shared protocol (``train/terms.py``): ``term(batch) -> Tensor`` over one
:class:`KDITBatch`.

The stage's step fills the batch with what it computed (output/target image pairs, predicted/true
latents, student/teacher activations, discriminator logits) and combines the terms whose weight
(config field ``w_<name>``) is non-zero, so any term can be switched off for an ablation
(``--w-perceptual 0``)::

    loss, stats = combine(TERMS, batch, weights_of(cfg, TERMS))

A term whose inputs the step did not compute contributes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F

from ..train.gan_losses import g_nonsaturating
from ..train.terms import Term

Feats = list[torch.Tensor] | dict[int, torch.Tensor]


@dataclass
class KDITBatch:
    pairs: list[tuple[torch.Tensor, torch.Tensor]] = field(default_factory=list)  # (output, target) images
    latents: list[tuple[torch.Tensor, torch.Tensor]] = field(default_factory=list)  # (predicted, true) ws
    conds: list[tuple[torch.Tensor, torch.Tensor]] = field(default_factory=list)  # (f_X(X), S_E(image))
    gen_feats: list[tuple[Feats, Feats]] = field(default_factory=list)  # (G_S, G_T) block activations
    enc_feats: list[tuple[Feats, Feats]] = field(default_factory=list)  # (E_S/E_R, D_T) trunk features
    fake_logits: list[torch.Tensor] = field(default_factory=list)  # D(output)
    perceptual: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None


def _zero(batch: KDITBatch) -> torch.Tensor:
    for group in (batch.pairs, batch.latents, batch.conds):
        if group:
            return group[0][0].new_zeros(())
    return torch.zeros(())


def _mean(values: list[torch.Tensor], batch: KDITBatch) -> torch.Tensor:
    return torch.stack(values).mean() if values else _zero(batch)


def _feat_mse(a: Feats, b: Feats) -> torch.Tensor:
    keys = a.keys() if isinstance(a, dict) else range(len(a))
    return torch.stack([F.mse_loss(a[i], b[i].detach()) for i in keys]).mean()


def l1(batch: KDITBatch) -> torch.Tensor:
    return _mean([(a - b).abs().mean() for a, b in batch.pairs], batch)


def perceptual(batch: KDITBatch) -> torch.Tensor:
    if batch.perceptual is None:
        return _zero(batch)
    return _mean([batch.perceptual(a, b) for a, b in batch.pairs], batch)


def latent(batch: KDITBatch) -> torch.Tensor:
    """‖E.ws(x) − w‖²: the teacher knows the true latents of its triplets."""
    return _mean([F.mse_loss(p, t.detach()) for p, t in batch.latents], batch)


def cond(batch: KDITBatch) -> torch.Tensor:
    """‖f_X(X) − S_E(image)‖² (condition encoder fine-tuning)."""
    return _mean([F.mse_loss(p, t.detach()) for p, t in batch.conds], batch)


def gen_kd(batch: KDITBatch) -> torch.Tensor:
    return _mean([_feat_mse(s, t) for s, t in batch.gen_feats], batch)


def enc_kd(batch: KDITBatch) -> torch.Tensor:
    return _mean([_feat_mse(s, t) for s, t in batch.enc_feats], batch)


def adv(batch: KDITBatch) -> torch.Tensor:
    return _mean([g_nonsaturating(lg) for lg in batch.fake_logits], batch)


TERMS: dict[str, Term] = {
    "l1": l1, "perceptual": perceptual, "latent": latent, "cond": cond, "gen_kd": gen_kd, "enc_kd": enc_kd,
    "adv": adv,
}
