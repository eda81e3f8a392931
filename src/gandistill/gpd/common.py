"""Small pieces shared by the GPD engines: the noise mode that aligns generator pairs, the anchors file names,
W statistics."""
from __future__ import annotations

import torch

NOISE_MODE = "const"  # both generators render a latent with the same fixed noise, so w alone defines a pair
ANCHORS_FILE = "anchors.safetensors"  # gpd anchors' default output, in the adapt run folder beside model/
#: that file, its report and its grid: ``gpd adapt --overwrite`` removes them with the run whose model they fit
ANCHORS_FILES = (ANCHORS_FILE, "anchors.json", "anchors.png")


@torch.no_grad()
def w_stats(G, n: int = 2000, seed: int = 1234) -> tuple[torch.Tensor, float]:
    """(mean w [w_dim], scalar std of W) from ``n`` seeded mapping samples (deterministic)."""
    dev = next(G.parameters()).device
    z = torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed)).to(dev)
    w = G.mapping(z)[:, 0]
    return w.mean(0), float(w.var(0).mean().sqrt())
