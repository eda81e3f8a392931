"""Output diversity: mean pairwise distance between several outputs generated for the same input.

Higher means the translator produces more varied results (e.g. for different noise or references).
Distance "l1": mean absolute pixel difference as a fraction of 255; "lpips": LPIPS (needs weights).
"""
from __future__ import annotations

from typing import Iterable

import torch

from ..errors import GandistillError
from .lpips import LPIPS, to_lpips_input


def pairwise_diversity(outputs: torch.Tensor, distance: str = "l1", lpips_model: LPIPS | None = None) -> float:
    """Mean distance over all K(K-1)/2 pairs of K uint8 outputs (K,C,H,W) for one input."""
    k = outputs.shape[0]
    if outputs.ndim != 4 or k < 2:
        raise GandistillError(f"diversity needs at least 2 outputs (K,C,H,W) per input, got {tuple(outputs.shape)}")
    i, j = torch.triu_indices(k, k, offset=1)
    if distance == "l1":
        x = outputs.double() / 255.0
        return float((x[i] - x[j]).abs().mean(dim=(1, 2, 3)).mean())
    if distance == "lpips":
        if lpips_model is None:
            raise GandistillError("diversity with distance='lpips' needs lpips_model=load_lpips(...)")
        x = to_lpips_input(outputs)
        with torch.no_grad():
            return float(lpips_model(x[i], x[j]).mean())
    raise GandistillError(f"unknown diversity distance {distance!r}; use 'l1' or 'lpips'")


def diversity(groups: Iterable[torch.Tensor], distance: str = "l1", lpips_model: LPIPS | None = None) -> dict:
    """Diversity over many inputs: each group holds the K outputs for one input. Returns mean, std, count."""
    values = torch.tensor([pairwise_diversity(g, distance, lpips_model) for g in groups], dtype=torch.float64)
    if values.numel() == 0:
        raise GandistillError("diversity needs at least one group of outputs")
    std = float(values.std(unbiased=False)) if values.numel() > 1 else 0.0
    return {"mean": float(values.mean()), "std": std, "inputs": int(values.numel()), "distance": distance}
