"""Cross-domain distance consistency (CDC; Ojha et al. 2021, "Few-shot image generation via
cross-domain correspondence"), as used by GPD's adaptation stage.

For a batch of latents, each generator's activations give every sample a distribution over the
*other* samples: ``p_i = softmax_j≠i(cos(f_i, f_j))``. The adapted generator must keep the source
generator's distributions: ``KL(p_i^source ‖ p_i^target)``. Zero when the generators agree, so
adaptation changes style but keeps relative structure.

Reduction and layers follow the authors' code (checked in github.com/utkarshojha/few-shot-gan-adaptation,
train.py): ``nn.KLDivLoss()`` with its default element mean, i.e. the sum over the N×(N−1) entries
divided by N×(N−1), times ``kl_wt`` = 1000; features of the intermediate generator layers, the first
(4×4) and the last excluded. They draw one random layer per sample; we average over those layers,
which has the same expectation and less variance.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

from .common import NOISE_MODE


def similarity_distribution(feat: torch.Tensor) -> torch.Tensor:
    """[N, ...] activations → [N, N-1] log-probabilities over the other samples (diagonal removed)."""
    n = feat.shape[0]
    if n < 2:
        raise ValueError("CDC needs at least 2 samples per batch")
    f = F.normalize(feat.flatten(1).float(), dim=1)
    sim = f @ f.t()
    off = ~torch.eye(n, dtype=torch.bool, device=feat.device)
    return F.log_softmax(sim[off].view(n, n - 1), dim=1)


def default_layers(n_blocks: int) -> list[int]:
    """The paper's layer range: every synthesis block except the first (4×4) and the last (when ≥ 3)."""
    return list(range(1, n_blocks - 1)) if n_blocks >= 3 else list(range(n_blocks))


def cdc_loss(source_feats: Sequence[torch.Tensor], target_feats: Sequence[torch.Tensor],
             layers: Sequence[int] | None = None) -> torch.Tensor:
    """Mean over ``layers`` of KL(p_source ‖ p_target), element mean over the N×(N−1) entries as in the
    authors' code (source side treated as fixed). ``layers`` None = :func:`default_layers`."""
    if len(source_feats) != len(target_feats):
        raise ValueError("source and target feature lists differ in length")
    idx = default_layers(len(source_feats)) if layers is None else list(layers)
    bad = [i for i in idx if not -len(source_feats) <= i < len(source_feats)]
    if bad or not idx:
        raise ValueError(f"CDC layers {bad or idx} out of range: the generator has {len(source_feats)} blocks")
    total = source_feats[0].new_zeros(())
    for i in idx:
        log_p = similarity_distribution(source_feats[i].detach())
        log_q = similarity_distribution(target_feats[i])
        # sum / element count = torch's 'mean' reduction (the authors' nn.KLDivLoss()), without its warning
        total = total + F.kl_div(log_q, log_p, log_target=True, reduction="sum") / log_p.numel()
    return total / len(idx)


def cdc_term(G_T, G, ws: torch.Tensor, weight: float, layers: Sequence[int] | None = None,
             target_feats: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
    """CDC loss of G against the frozen G_T on latents ``ws``; carries no gradient when ``weight`` is 0.

    ``target_feats``: G's activations for ``ws`` when the caller already has them (the adversarial
    forward of the same latents), so G is not run twice. This is the function ``adapt`` trains with.
    """
    with torch.no_grad():
        _, feats_t = G_T.synthesis(ws, noise_mode=NOISE_MODE, return_features=True)
    with torch.set_grad_enabled(weight > 0 and torch.is_grad_enabled()):
        if target_feats is None:
            _, target_feats = G.synthesis(ws, noise_mode=NOISE_MODE, return_features=True)
        elif weight <= 0:
            target_feats = [f.detach() for f in target_feats]
        return cdc_loss(feats_t, target_feats, layers)
