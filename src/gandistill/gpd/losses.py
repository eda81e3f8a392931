"""GPD's loss terms: one table per stage, every term ``term(batch) -> Tensor`` (the ``train.terms`` protocol).

A stage fills its batch dataclass and calls ``train.terms.combine(TABLE, batch, weights_of(cfg, names))``;
the weight of term ``name`` is the config field ``w_<name>`` (``--w-<name>``), and a term with weight 0
is not computed.

- ``ADAPT_TERMS`` over :class:`AdaptBatch` (``gpd adapt``, ``AdaptConfig``): ``adv`` — the
  non-saturating loss of the adaptation discriminator on G_target's augmented samples; ``cdc`` —
  cross-domain distance consistency against the frozen G_T (``cdc.cdc_term``); ``pair`` — with a paired
  ``--target`` (A/ sources, B/ targets), G_target(w_a) against the real target, w_a the source projected
  into G_T.
- ``KD_TERMS`` over :class:`KDBatch` (``gpd distill``, ``GPDDistillConfig``; ``KD_MODES`` says which
  terms each ``--kd`` mode uses): the anchor-based knowledge distillation below.
- ``PROJECTION_TERMS`` over :class:`ProjectionBatch` (``project``, ``ProjectConfig``): ``l2``, ``feat``,
  ``wplus``.

Anchor-based KD. Distances between latents are RMS over the W+ rows:
``d(w, w') = ‖w − w'‖₂ / √num_ws`` (for W-space latents this is the plain W distance).

- trust ``ω(w) = max(ω_min, exp(−d(w, w_a*)² / 2τ²))``, w_a* the nearest anchor;
- posterior ``p(a|w) = softmax_a(−d(w, w_a)² / τ²)``;
- anchor-relative ``Σ_a p(a|w) ‖(φ(S(x̃)) − φ(ỹ)) − (φ(s_a) − φ(t_a))‖₁`` (mean over elements, summed
  over φ's levels), i.e. the student's residual on the generated pair must equal a fixed residual at the
  anchor. The anchor end ``(s_a, t_a)`` is chosen by ``--rel-anchor``:
  ``corrected`` (default) ``(y_a, G_target(w_a))``: S(x̃) must equal ỹ + (y_a − G_target(w_a)) — the
  teacher is trusted only for the *change* from its anchor rendering, the level comes from the real
  target, so an error the teacher makes around the anchor cancels; weighted by ω as well, since that
  correction only holds near the anchor;
  ``real`` (DESIGN §2.3 as first written) ``(S(x_a), y_a)``; ``twin`` ``(S(G_T(w_a)), G_target(w_a))``.
  Why ``real`` is not the default: once S fits the real pairs (S(x_a) = y_a, which the real-pair L1
  drives it to) its anchor residual is zero and the term becomes ``Σ_a p(a|w)‖φ(S(x̃)) − φ(ỹ)‖`` — the
  direct term without trust, i.e. full trust in the generated pixels (see docs/gpd.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from ..train.gan_losses import g_nonsaturating
from .cdc import cdc_term
from .common import NOISE_MODE

Phi = Callable[[torch.Tensor], list[torch.Tensor]]


def latent_distance(ws: torch.Tensor, anchor_ws: torch.Tensor) -> torch.Tensor:
    """[B, num_ws, w_dim] × [A, num_ws, w_dim] → [B, A] RMS-over-rows Euclidean distances."""
    a = ws.flatten(1).double()
    b = anchor_ws.flatten(1).double()
    d2 = (a.square().sum(1, keepdim=True) + b.square().sum(1) - 2 * a @ b.t()).clamp(min=0)
    return (d2 / ws.shape[1]).sqrt().to(ws.dtype)


def trust_weight(dist: torch.Tensor, tau: float, omega_min: float) -> torch.Tensor:
    """[B, A] distances → [B] trust ω = max(ω_min, exp(−d_min² / 2τ²))."""
    d = dist.min(dim=1).values
    return torch.exp(-d.square() / (2 * tau ** 2)).clamp(min=omega_min)


def anchor_posterior(dist: torch.Tensor, tau: float) -> torch.Tensor:
    """[B, A] distances → [B, A] p(a|w) = softmax_a(−d² / τ²)."""
    return torch.softmax(-dist.square() / tau ** 2, dim=1)


def pixels_and(phi: Phi | None) -> Phi:
    """φ used by the KD terms: the image itself plus the levels of a fixed feature extractor."""
    return lambda img: [img] + (phi(img) if phi is not None else [])


@dataclass
class KDBatch:
    phi: Phi
    x_real: torch.Tensor              # real-pair inputs   [N, C, H, W]
    y_real: torch.Tensor              # real-pair targets
    s_real: torch.Tensor              # S(x_real)
    x_gen: torch.Tensor | None = None  # generated inputs G_T(w)
    y_gen: torch.Tensor | None = None  # generated targets G_target(w)
    s_gen: torch.Tensor | None = None  # S(x_gen)
    omega: torch.Tensor | None = None  # [B] trust weights of the generated pairs
    post: torch.Tensor | None = None   # [B, A] p(a|w)
    anchor_y: torch.Tensor | None = None  # [A, ...] t_a: teacher end at every anchor (y_a or G_target(w_a))
    s_anchor: torch.Tensor | None = None  # [A, ...] s_a: student end (S(x_a), S(G_T(w_a)) or y_a)
    rel_weight: torch.Tensor | None = None  # [B] per-sample weight of the relative term (None = 1)
    disc: Callable[[torch.Tensor], torch.Tensor] | None = None  # PatchGAN on cat(x, y)
    adv_generated: bool = False        # also judge S(x̃) (generated inputs) by the conditional PatchGAN


def _perc(phi: Phi, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-sample mean |φ(a) − φ(b)| summed over φ's feature levels (the pixel level excluded)."""
    fa, fb = phi(a)[1:], phi(b)[1:]
    if not fa:
        return a.new_zeros(a.shape[0])
    return sum((x - y).abs().flatten(1).mean(1) for x, y in zip(fa, fb))  # type: ignore[return-value]


def real_l1(b: KDBatch) -> torch.Tensor:
    return (b.s_real - b.y_real).abs().mean()


def real_perceptual(b: KDBatch) -> torch.Tensor:
    return _perc(b.phi, b.s_real, b.y_real).mean()


def _trusted(b: KDBatch, per: torch.Tensor) -> torch.Tensor:
    """Mean of per-sample losses weighted by the trust ω (1 for --kd direct)."""
    return (per * b.omega).mean() if b.omega is not None else per.mean()


def gen_direct(b: KDBatch) -> torch.Tensor:
    """Generated pairs as training data: per-sample pixel L1, each weighted by its trust ω."""
    return _trusted(b, (b.s_gen - b.y_gen).abs().flatten(1).mean(1))


def gen_perceptual(b: KDBatch) -> torch.Tensor:
    """Generated pairs: per-sample φ-feature distance, each weighted by its trust ω."""
    return _trusted(b, _perc(b.phi, b.s_gen, b.y_gen))


def anchor_relative(b: KDBatch) -> torch.Tensor:
    """Σ_a p(a|w) ‖(φ(S(x̃)) − φ(ỹ)) − (φ(s_a) − φ(t_a))‖₁ per generated sample, × ``rel_weight``, averaged."""
    total = b.s_gen.new_zeros(b.s_gen.shape[0])
    for fs, fy, fsa, fya in zip(b.phi(b.s_gen), b.phi(b.y_gen), b.phi(b.s_anchor), b.phi(b.anchor_y)):
        r_gen = (fs - fy).flatten(1)            # [B, F]
        r_anc = (fsa - fya).flatten(1)          # [A, F]
        diff = torch.stack([(r_gen - r_anc[a]).abs().mean(1) for a in range(r_anc.shape[0])], dim=1)  # [B, A]
        total = total + (b.post * diff).sum(1)
    return (total * b.rel_weight).mean() if b.rel_weight is not None else total.mean()


def adversarial(b: KDBatch) -> torch.Tensor:
    """Non-saturating loss of the conditional PatchGAN on the student's outputs for real inputs (and for
    generated inputs with ``adv_generated``)."""
    x, s = b.x_real, b.s_real
    if b.s_gen is not None and b.adv_generated:
        x, s = torch.cat([x, b.x_gen]), torch.cat([s, b.s_gen])
    return g_nonsaturating(b.disc(torch.cat([x, s], 1)))


# --- gpd distill: the KD terms (weights w_<name> of GPDDistillConfig) and the terms each --kd mode uses ---
KD_TERMS: dict[str, Callable[[KDBatch], torch.Tensor]] = {
    "l1": real_l1, "perc": real_perceptual, "direct": gen_direct, "gen_perc": gen_perceptual,
    "rel": anchor_relative, "adv": adversarial,
}
KD_MODES: dict[str, tuple[str, ...]] = {
    "none": ("l1", "perc", "adv"),
    "direct": ("l1", "perc", "direct", "gen_perc", "adv"),
    "anchor": ("l1", "perc", "direct", "gen_perc", "rel", "adv"),
}


# --- gpd adapt: the generator's terms (weights w_adv, w_cdc of AdaptConfig) ---
@dataclass
class AdaptBatch:
    G_T: torch.nn.Module                             # frozen source generator
    G: torch.nn.Module                               # G_target, being adapted
    fake: torch.Tensor                               # G_target(ws)
    judge: Callable[[torch.Tensor], torch.Tensor]    # augment + adaptation D in this step's mode → logits
    cdc_ws: torch.Tensor                             # latents CDC compares (a free batch on anchor-region steps)
    cdc_feats: list[torch.Tensor] | None = None      # G's activations for cdc_ws when the step has them
    cdc_layers: list[int] | None = None
    w_cdc: float = 1.0                               # CDC builds G's graph only when its weight is > 0
    pair_ws: torch.Tensor | None = None              # paired --target: the sources' latents (projected into G_T)
    pair_y: torch.Tensor | None = None               # … and their real targets
    pair_distance: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None  # (a, b) → [N] features


def adapt_adversarial(b: AdaptBatch) -> torch.Tensor:
    """Non-saturating loss of the adaptation discriminator on G_target's samples."""
    return g_nonsaturating(b.judge(b.fake))


def cdc(b: AdaptBatch) -> torch.Tensor:
    """Cross-domain distance consistency of G_target against G_T on ``cdc_ws`` (``cdc.cdc_term``)."""
    return cdc_term(b.G_T, b.G, b.cdc_ws, b.w_cdc, b.cdc_layers, target_feats=b.cdc_feats)


def paired(b: AdaptBatch) -> torch.Tensor:
    """Paired adaptation: G_target must render each real source's latent as that source's real target
    (per-sample pixel L1 + feature distance, averaged), so it learns the translation, not only the texture."""
    img = b.G.synthesis(b.pair_ws, noise_mode=NOISE_MODE)
    return ((img - b.pair_y).abs().flatten(1).mean(1) + b.pair_distance(img, b.pair_y)).mean()


ADAPT_TERMS: dict[str, Callable[[AdaptBatch], torch.Tensor]] = {"adv": adapt_adversarial, "cdc": cdc,
                                                                  "pair": paired}


# --- projection into W+ (weights w_l2, w_feat, w_wplus of ProjectConfig) ---
@dataclass
class ProjectionBatch:
    img: torch.Tensor                                 # G(w + noise), [-1, 1]
    target: torch.Tensor                              # the images being projected
    w: torch.Tensor                                   # [N, num_ws, w_dim], being optimised
    w_std: float                                      # scalar std of W
    distance: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (a, b) → [N] feature distance


# Sums over the images, not means: each image's latent is optimised on its own, whatever the batch.
def projection_l2(b: ProjectionBatch) -> torch.Tensor:
    """Per-image pixel MSE, summed over the images."""
    return (b.img - b.target).square().mean(dim=(1, 2, 3)).sum()


def projection_feat(b: ProjectionBatch) -> torch.Tensor:
    """Per-image feature distance (LPIPS or the D trunk), summed over the images."""
    return b.distance(b.img, b.target).sum()


def wplus_spread(b: ProjectionBatch) -> torch.Tensor:
    """Spread of the W+ rows around their mean in units of std(W)², summed over the images."""
    return ((b.w - b.w.mean(1, keepdim=True)).square().sum(-1).mean(1) / b.w_std ** 2).sum()


PROJECTION_TERMS: dict[str, Callable[[ProjectionBatch], torch.Tensor]] = {
    "l2": projection_l2, "feat": projection_feat, "wplus": wplus_spread,
}
