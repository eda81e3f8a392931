"""Style-mixed triplets (KDIT, paper Fig. 2a): ``x1 = G(w1)``, ``x2 = G(w2)``, ``y = G(ws)``,
``ws[:k] = w1``, ``ws[k:] = w2``.

    sampler = TripletSampler(G, k_range=(4, 6), psi=0.8, seed=0, batch=8)
    t = next(sampler)          # Triplets(x1, x2, y, k, w1, w2)

Prefix sharing. Synthesis block b reads ws rows 2b-1 (conv0), 2b (conv1) and 2b+1 (toRGB);
row 2b+1 is the toRGB style of block b *and* the conv0 style of block b+1. So for crossover k:

- blocks ``b < k // 2`` read only rows < k: their features and partial image are x1's;
- for odd k, block ``k // 2`` has both convs below k (its features are x1's) but its toRGB
  reads row k from w2: only its toRGB is re-run;
- the remaining blocks run on the mixed ws.

x1 and x2 run together as one batch of 2N; y resumes from x1's saved per-block state: each
sample joins the running y batch at its first block above k, so every block runs once, on all the
samples that need it (the MAC floor, with the expensive top blocks at full batch); results are
scattered back into place. ``share_prefix=False`` computes y from scratch (same pixels; used
by tests and the speed benchmark).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch

from ..teacher.generator import Generator, mix_ws
from ..teacher.layers import NoiseMode
from ..utils.inference import inference, prepare_for_inference


@dataclass
class Triplets:
    x1: torch.Tensor  # [N, C, R, R] content / input image
    x2: torch.Tensor | None  # reference image (None when not rendered)
    y: torch.Tensor  # mixed target: x1's structure, x2's appearance
    k: torch.Tensor  # [N] int64 crossover per sample
    w1: torch.Tensor  # [N, num_ws, w_dim] (after truncation)
    w2: torch.Tensor
    feats_y: list[torch.Tensor] | None = None  # teacher activations of each block for y (generator KD)
    feats_x1: list[torch.Tensor] | None = None  # … and for x1 (with return_features)

    @property
    def ws_y(self) -> torch.Tensor:
        return mix_ws(self.w1, self.w2, self.k)

    def __iter__(self):  # allows ``x1, x2, y, k, w1, w2 = triplets``
        return iter((self.x1, self.x2, self.y, self.k, self.w1, self.w2))


def default_k_range(num_ws: int) -> tuple[int, int]:
    """``[num_ws/2, num_ws − 2]`` (inclusive); collapses to num_ws/2 for tiny generators."""
    lo = num_ws // 2
    return lo, max(lo, num_ws - 2)


def check_k_range(k_range: tuple[int, int] | list[int], num_ws: int) -> tuple[int, int]:
    lo, hi = (int(k_range[0]), int(k_range[-1]))
    if not 0 <= lo <= hi <= num_ws:
        raise ValueError(f"crossover range [{lo}, {hi}] must satisfy 0 <= lo <= hi <= num_ws={num_ws}")
    return lo, hi


@inference
def synthesize_triplets(G: Generator, w1: torch.Tensor, w2: torch.Tensor, k: torch.Tensor,
                        noise_mode: NoiseMode = "const", share_prefix: bool = True,
                        return_features: bool = False, render_x2: bool = True) -> Triplets:
    """Images of a triplet batch from given latents; ``k`` is [N] (per-sample crossover).

    ``render_x2=False`` skips the reference image (X2I distillation never looks at it; Fig. 2c):
    ``x2`` is then None and a triplet costs about one pass plus the part of y above k.
    """
    syn = G.synthesis
    n, num_blocks = w1.shape[0], len(syn.blocks)
    k = k.to(device=w1.device, dtype=torch.long)
    ws_y = mix_ws(w1, w2, k)
    ws12 = torch.cat([w1, w2]) if render_x2 else w1
    if not share_prefix:
        img12, feats12, _ = syn.run_blocks(ws12, noise_mode=noise_mode)
        y, feats_y, _ = syn.run_blocks(ws_y, noise_mode=noise_mode)
        x2 = img12[n:] if render_x2 else None
        if not return_features:
            return Triplets(img12[:n], x2, y, k, w1, w2)
        return Triplets(img12[:n], x2, y, k, w1, w2, feats_y, [f[:n] for f in feats12])

    # x1 and x2 together, keeping x1's state (x, img) after every block.
    x = img = None
    xs, imgs, feats12 = [], [], []
    for b in range(num_blocks):
        img, feats, x = syn.run_blocks(ws12, b, b + 1, x, img, noise_mode)
        xs.append(x[:n])
        imgs.append(img[:n])
        feats12.append(feats[0])
    x1, x2 = img[:n], (img[n:] if render_x2 else None)

    # y: each sample joins at block j (its first block reading a w2 row), from x1's state there.
    # Block by block, the joiners' states are appended to the running batch, so every block runs
    # once on all samples that need it: the MAC floor, with the expensive top blocks at full batch.
    y = torch.empty_like(x1)
    feats_y = [torch.empty_like(f[:n]) for f in feats12] if return_features else None
    joins: dict[int, list[tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]]] = {}
    for kk in torch.unique(k).tolist():
        idx = (k == kk).nonzero().squeeze(1)
        s = kk // 2  # blocks fully below k: features and partial image are x1's
        x_g = xs[s - 1][idx] if s > 0 else None
        img_g = imgs[s - 1][idx] if s > 0 else None
        if kk % 2 == 1 and s < num_blocks:  # block s: convs read rows 2s-1, 2s < k (x1's); toRGB row k (w2)
            x_g = xs[s][idx]
            img_g = syn.blocks[s].torgb(x_g, ws_y[idx, 2 * s + 1], img_g)
            s += 1
        if feats_y is not None:
            for b in range(min(s, num_blocks)):
                feats_y[b][idx] = feats12[b][idx]
        joins.setdefault(s, []).append((idx, x_g, img_g))
    idx_a = x_a = img_a = None
    for b in range(min(joins), num_blocks + 1):
        for idx, x_g, img_g in joins.get(b, []):
            if idx_a is None:
                idx_a, x_a, img_a = idx, x_g, img_g
            else:
                idx_a, x_a, img_a = torch.cat([idx_a, idx]), torch.cat([x_a, x_g]), torch.cat([img_a, img_g])
        if b == num_blocks:
            break
        x_a, img_a = syn.blocks[b](x_a, img_a, ws_y[idx_a], noise_mode)
        if feats_y is not None:
            feats_y[b][idx_a] = x_a
    y[idx_a] = img_a
    return Triplets(x1, x2, y, k, w1, w2, feats_y, [f[:n] for f in feats12] if return_features else None)


class TripletSampler:
    """Infinite, seeded stream of :class:`Triplets` batches from a frozen teacher generator.

    ``k_range`` (inclusive, default ``[num_ws/2, num_ws − 2]``) gives each sample its own crossover;
    ``psi`` truncates w towards ``w_avg``. The stream depends only on ``seed`` (its own
    ``torch.Generator``), so two samplers with the same arguments yield the same batches, and
    ``state_dict()`` / ``load_state_dict()`` make it resumable.

    Sharded over ``world_size`` processes, every process draws the latents and crossovers of all of them
    (cheap) from the same generator and renders only its own ``rank``-th share, so the processes see
    disjoint triplets of one stream and one saved state resumes them all.
    """

    def __init__(self, G: Generator, k_range: tuple[int, int] | None = None, psi: float = 1.0, seed: int = 0,
                 batch: int = 8, noise_mode: NoiseMode = "const", share_prefix: bool = True,
                 return_features: bool = False, device: str | torch.device | None = None,
                 render_x2: bool = True, rank: int = 0, world_size: int = 1):
        self.G = prepare_for_inference(G)  # a frozen teacher: eval + channels-last (in place)
        self.num_ws = G.num_ws
        self.k_range = check_k_range(k_range if k_range is not None else default_k_range(self.num_ws), self.num_ws)
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch}")
        self.psi, self.batch, self.noise_mode = float(psi), int(batch), noise_mode
        self.share_prefix, self.return_features, self.render_x2 = share_prefix, return_features, render_x2
        self.device = torch.device(device) if device is not None else next(G.parameters()).device
        self.seed = int(seed)
        self.rng = torch.Generator().manual_seed(self.seed)
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in 0..{world_size - 1}, got {rank}")
        self.rank, self.world_size = int(rank), int(world_size)

    def __iter__(self) -> Iterator[Triplets]:
        return self

    def __next__(self) -> Triplets:
        return self.sample(self.batch)

    @inference
    def sample(self, n: int, k: int | None = None) -> Triplets:
        """``n`` triplets: this process's share of ``n × world_size`` drawn from the stream."""
        total, share = n * self.world_size, slice(self.rank * n, (self.rank + 1) * n)
        z = torch.randn(2, total, self.G.z_dim, generator=self.rng)[:, share].to(self.device)
        lo, hi = self.k_range
        ks = torch.randint(lo, hi + 1, (total,), generator=self.rng)[share]
        if k is not None:
            ks = torch.full((n,), int(check_k_range((k, k), self.num_ws)[0]), dtype=torch.long)
        w1 = self.G.mapping(z[0], psi=self.psi)
        w2 = self.G.mapping(z[1], psi=self.psi)
        return synthesize_triplets(self.G, w1, w2, ks.to(self.device), self.noise_mode, self.share_prefix,
                                   self.return_features, self.render_x2)

    def state_dict(self) -> dict:
        return {"rng": self.rng.get_state(), "seed": self.seed}

    def load_state_dict(self, state: dict) -> None:
        self.rng.set_state(state["rng"])


def save_triplet_preview(x1: torch.Tensor, x2: torch.Tensor, y: torch.Tensor, k: torch.Tensor | int,
                         path, scale: int = 2) -> None:
    """One triplet per row, columns x1 (content) | x2 (reference) | y (mix), each row labelled with its k."""
    from ..utils.images import save_labelled_grid

    ks = k.tolist() if isinstance(k, torch.Tensor) else [int(k)] * len(x1)
    save_labelled_grid(list(torch.stack([x1, x2, y], 1)), [f"k={v}" for v in ks], path, scale=scale,
                       col_labels=["x1 content", "x2 reference", "y mix"] if x1.shape[-1] * scale >= 96
                       else ["x1", "x2", "y"])
