"""Improved precision and recall (Kynkäänniemi et al., NeurIPS 2019) on Inception features.

Each set's manifold is the union of balls around its points, each with the radius of the distance to the
point's k-th nearest neighbour in the same set. Precision: the fraction of generated points inside the real
manifold (are samples realistic?); recall: the fraction of real points inside the generated one (is the data
covered?). The paper uses k = 3 and 50k images; with a few hundred both are coarse, so report counts with it.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from ..errors import GandistillError

K = 3


class PrecisionRecall(NamedTuple):
    precision: float
    recall: float
    k: int
    num_real: int
    num_gen: int


def _radii(x: torch.Tensor, k: int) -> torch.Tensor:
    d = torch.cdist(x, x)
    return d.kthvalue(k + 1, dim=1).values  # k+1: the point itself is its own nearest neighbour at 0


def _coverage(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, chunk: int = 1024) -> float:
    inside = []
    for part in points.split(chunk):
        inside.append((torch.cdist(part, centres) <= radii[None]).any(dim=1))
    return float(torch.cat(inside).float().mean())


def precision_recall(real: torch.Tensor, gen: torch.Tensor, k: int = K) -> PrecisionRecall:
    """Precision and recall of ``gen`` against ``real`` features ([N, d] each; float64 distances)."""
    if real.ndim != 2 or gen.ndim != 2 or real.shape[1] != gen.shape[1]:
        raise GandistillError(f"precision/recall need two (N, d) feature sets with equal d, got "
                              f"{tuple(real.shape)} and {tuple(gen.shape)}")
    if min(real.shape[0], gen.shape[0]) <= k:
        raise GandistillError(f"precision/recall with k={k} need more than {k} images in each set, got "
                              f"{real.shape[0]} real and {gen.shape[0]} generated")
    real, gen = real.double(), gen.double()
    return PrecisionRecall(_coverage(gen, real, _radii(real, k)), _coverage(real, gen, _radii(gen, k)), k,
                           real.shape[0], gen.shape[0])
