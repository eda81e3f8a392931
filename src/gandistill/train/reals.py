"""Real-image batches for the discriminator phase: sampler indices over a dataset doubled by mirroring."""
from __future__ import annotations

import torch


def xflip_take(images: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``images[idx]`` where indices ``>= len(images)`` name the horizontally mirrored copy of
    ``images[idx - len(images)]`` (``--xflip`` doubles a dataset without storing the copies)."""
    idx = idx.to(images.device)
    flip = (idx >= len(images)).view(-1, 1, 1, 1)
    batch = images[idx % len(images)]
    return torch.where(flip, batch.flip(3), batch)
