"""Cross-domain distance consistency (CDC; Ojha et al. 2021, "Few-shot image generation via
cross-domain correspondence"), as used by GPD's adaptation stage.

For a batch of latents, each generator's activations give every sample a distribution over the
*other* samples: ``p_i = softmax_j≠i(cos(f_i, f_j))``. The adapted generator must keep the source
generator's distributions: ``KL(p_i^source ‖ p_i^target)``, summed over j, averaged over samples and
layers. Zero when the generators agree, so adaptation changes style but keeps relative structure.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F


def similarity_distribution(feat: torch.Tensor) -> torch.Tensor:
    """[N, ...] activations → [N, N-1] log-probabilities over the other samples (diagonal removed)."""
    n = feat.shape[0]
    if n < 2:
        raise ValueError("CDC needs at least 2 samples per batch")
    f = F.normalize(feat.flatten(1).float(), dim=1)
    sim = f @ f.t()
    off = ~torch.eye(n, dtype=torch.bool, device=feat.device)
    return F.log_softmax(sim[off].view(n, n - 1), dim=1)


def cdc_loss(source_feats: Sequence[torch.Tensor], target_feats: Sequence[torch.Tensor],
             layers: Sequence[int] | None = None) -> torch.Tensor:
    """Mean over ``layers`` of KL(p_source ‖ p_target) per sample (source side is treated as fixed)."""
    if len(source_feats) != len(target_feats):
        raise ValueError("source and target feature lists differ in length")
    idx = list(range(len(source_feats))) if layers is None else list(layers)
    bad = [i for i in idx if not -len(source_feats) <= i < len(source_feats)]
    if bad:
        raise ValueError(f"CDC layers {bad} out of range: the generator has {len(source_feats)} blocks")
    total = source_feats[0].new_zeros(())
    for i in idx:
        log_p = similarity_distribution(source_feats[i].detach())
        log_q = similarity_distribution(target_feats[i])
        total = total + F.kl_div(log_q, log_p, log_target=True, reduction="batchmean")
    return total / len(idx)
