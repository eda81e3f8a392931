"""How good is an adapted generator? Measures that mean something with ≤ 10 targets (a 10-shot FID does not).

All functions are pure: images in [-1, 1] as [N, C, H, W] tensors, features as [N, F] tensors.

- **diversity**: mean pairwise feature distance of G_target's samples divided by G_T's on the same
  latents — 1 keeps the source's variety, 0 is a collapsed generator that draws one image for every w;
- **correspondence**: mean SSIM between the edge maps of G_T(w) and G_target(w) — 1 when the adapted
  generator keeps every outline of the source sample (identical generators), near 0 when unrelated;
- **memorisation**: each sample's feature distance to its nearest target (mean and min), next to the
  mean leave-one-out nearest-neighbour distance among the targets themselves (``nn_target_ref``): samples
  much closer to a target than the targets are to each other are copies.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from ..metrics.pixel import WINDOW, ssim

Features = Callable[[torch.Tensor], torch.Tensor]  # images → [N, F]


def flat_features(phi: Callable[[torch.Tensor], Sequence[torch.Tensor]]) -> Features:
    """[N, F] from a multi-level extractor: each level flattened and scaled by 1/√size, so every level
    weighs the same in a Euclidean distance."""
    def features(img: torch.Tensor) -> torch.Tensor:
        # Pooled to ≤ 8×8 first: full-resolution maps made [N, F] ~10⁷ wide and the measures took 20 GB at 256 px.
        pooled = [F.adaptive_avg_pool2d(f, min(8, f.shape[-1])) if f.ndim == 4 else f for f in phi(img)]
        return torch.cat([f.flatten(1) / f[0].numel() ** 0.5 for f in pooled], dim=1)
    return features


def pairwise_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """[N, F] × [M, F] → [N, M] Euclidean distances (float64 for exact zeros)."""
    return torch.cdist(a.flatten(1).double(), b.flatten(1).double())


def mean_pairwise_distance(feats: torch.Tensor) -> float:
    """Mean distance over the N(N−1) ordered pairs of distinct samples."""
    n = feats.shape[0]
    if n < 2:
        raise ValueError("diversity needs at least 2 samples")
    return float(pairwise_distances(feats, feats).sum() / (n * (n - 1)))


def diversity_ratio(target_feats: torch.Tensor, source_feats: torch.Tensor) -> float:
    """Mean pairwise distance of G_target's samples relative to G_T's on the same latents."""
    return mean_pairwise_distance(target_feats) / max(mean_pairwise_distance(source_feats), 1e-12)


def edge_map(img: torch.Tensor) -> torch.Tensor:
    """Sobel gradient magnitude of the grey image, each map scaled to [0, 1] by its own maximum (so a
    dark sketch and a bright photo with the same outlines give similar maps); a flat image gives zeros."""
    grey = img.double().mean(1, keepdim=True)
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=grey.dtype, device=grey.device)
    k = torch.stack([kx, kx.t()]).unsqueeze(1)
    g = F.conv2d(F.pad(grey, (1, 1, 1, 1), mode="replicate"), k)
    mag = g.square().sum(1, keepdim=True).sqrt()
    return mag / mag.flatten(1).amax(1).clamp(min=1e-6).view(-1, 1, 1, 1)


def correspondence(source: torch.Tensor, target: torch.Tensor) -> float:
    """Mean SSIM of the edge maps of G_T(w) and G_target(w) (same latents, same order)."""
    a, b = edge_map(source), edge_map(target)
    if min(a.shape[-2:]) < WINDOW:  # SSIM's window needs at least WINDOW pixels
        size = (max(WINDOW, a.shape[-2]), max(WINDOW, a.shape[-1]))
        a, b = F.interpolate(a, size=size, mode="nearest"), F.interpolate(b, size=size, mode="nearest")
    return float(ssim(a, b, data_range=1.0).mean())


def nearest_targets(sample_feats: torch.Tensor, target_feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(distance to the nearest target [N], its index [N])."""
    d = pairwise_distances(sample_feats, target_feats)
    best = d.min(dim=1)
    return best.values, best.indices


def memorisation(sample_feats: torch.Tensor, target_feats: torch.Tensor) -> dict[str, float]:
    """Nearest-target distances of the samples (mean, min) and the targets' own leave-one-out reference."""
    d, _ = nearest_targets(sample_feats, target_feats)
    out = {"nn_target_mean": float(d.mean()), "nn_target_min": float(d.min())}
    if len(target_feats) > 1:
        tt = pairwise_distances(target_feats, target_feats)
        tt.fill_diagonal_(float("inf"))
        out["nn_target_ref"] = float(tt.min(dim=1).values.mean())
    return out


def adaptation_measures(source: torch.Tensor, target: torch.Tensor, targets: torch.Tensor,
                        features: Features) -> tuple[dict[str, float], torch.Tensor]:
    """All measures for G_T(w) = ``source`` and G_target(w) = ``target`` against the few ``targets``;
    returns (``adapt/…`` scalars, index of each sample's nearest target)."""
    with torch.no_grad():
        fs, ft, fy = features(source), features(target), features(targets)
    _, nearest = nearest_targets(ft, fy)
    m = {"diversity": diversity_ratio(ft, fs), "correspondence": correspondence(source, target),
         **memorisation(ft, fy)}
    return {f"adapt/{k}": v for k, v in m.items()}, nearest


def pair_references(sources: torch.Tensor, targets: torch.Tensor, features: Features) -> dict[str, float]:
    """What a perfect translator scores on the measures, from real (source, target) pairs: the real targets'
    diversity relative to their sources' and the sources↔targets edge correspondence. A target domain that
    is plainer than the source (sketches vs photos) has a reference far below 1."""
    with torch.no_grad():
        ref = {"diversity_ref": diversity_ratio(features(targets), features(sources)),
               "correspondence_ref": correspondence(sources, targets)}
    return {f"adapt/{k}": v for k, v in ref.items()}
