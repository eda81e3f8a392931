"""GPD paired augmentation: an infinite, seeded stream of aligned pairs (G_T(w), G_target(w)).

    stream = PairStream(G_T, G_target, anchors.ws, PairsConfig(p_near=0.5, sigma=0.5), batch=8)
    batch = next(stream)       # {"x", "y", "ws", "anchor"}; anchor = -1 for free samples
    gandistill gpd pairs --adapted runs/adapt/model --anchors runs/adapt/anchors.safetensors --n 1000 --out pairs/

With probability ``p_near`` a latent is drawn near an anchor, ``w = w_a + σ·std(W)·ε`` (one ε shared by
all W+ rows, so the perturbation moves along W), else freely from the (shared) mapping network. Each
batch is drawn from a generator seeded by (seed, rank, batch number), so the state is one counter, the
same on every process of a ``torchrun`` run, and ``--resume`` continues exactly; each rank draws its own pairs.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..errors import CheckpointError
from ..io.atomic import atomic_write_text
from ..utils.images import make_grid, save_image, to_uint8
from ..utils.logging import progress_bar
from .common import NOISE_MODE, w_stats
from .config import PairsConfig


class PairStream:
    def __init__(self, G_T, G_target, anchor_ws: torch.Tensor | None, cfg: PairsConfig | None = None,
                 batch: int = 8, rank: int = 0):
        self.G_T, self.G_target, self.cfg, self.batch = G_T, G_target, cfg or PairsConfig(), batch
        self.rank = rank
        self.device = next(G_T.parameters()).device
        self.anchor_ws = None if anchor_ws is None or len(anchor_ws) == 0 else anchor_ws.to(self.device)
        _, self.w_std = w_stats(G_T)
        self.draws = 0  # batches drawn so far
        self.count = 0  # pairs drawn so far

    def _generator(self) -> torch.Generator:
        """The generator of the next batch: seeded by (seed, rank, batch number), well mixed."""
        key = [self.cfg.seed % 2 ** 63, self.rank, self.draws]
        return torch.Generator().manual_seed(int(np.random.SeedSequence(key).generate_state(1, np.uint64)[0]))

    def sample_ws(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(ws [n, num_ws, w_dim], anchor index [n], -1 for free samples)."""
        G, g = self.G_T, self._generator()
        self.draws += 1
        z = torch.randn(n, G.z_dim, generator=g)
        u = torch.rand(n, generator=g)
        eps = torch.randn(n, 1, G.w_dim, generator=g)
        with torch.no_grad():
            ws = G.mapping(z.to(self.device), psi=self.cfg.psi)
        anchor = torch.full((n,), -1, dtype=torch.long)
        if self.anchor_ws is not None and self.cfg.p_near > 0:
            idx = torch.randint(len(self.anchor_ws), (n,), generator=g)
            near = u < self.cfg.p_near
            w_near = self.anchor_ws[idx.to(self.device)] + self.cfg.sigma * self.w_std * eps.to(self.device)
            ws = torch.where(near.to(self.device).view(-1, 1, 1), w_near, ws)
            anchor = torch.where(near, idx, anchor)
        return ws, anchor.to(self.device)

    @torch.no_grad()
    def render(self, ws: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return (self.G_T.synthesis(ws, noise_mode=NOISE_MODE), self.G_target.synthesis(ws, noise_mode=NOISE_MODE))

    def sample(self, n: int | None = None) -> dict[str, torch.Tensor]:
        ws, anchor = self.sample_ws(n or self.batch)
        x, y = self.render(ws)
        self.count += len(ws)
        return {"x": x, "y": y, "ws": ws, "anchor": anchor}

    def __iter__(self) -> "PairStream":
        return self

    def __next__(self) -> dict[str, torch.Tensor]:
        return self.sample()

    def state_dict(self) -> dict:
        return {"draws": self.draws, "count": self.count, "seed": self.cfg.seed}

    def load_state_dict(self, state: dict) -> None:
        if "draws" not in state:
            raise CheckpointError("this training state holds a pair stream of an older gandistill version, "
                                  "which cannot continue exactly; start the run afresh (--overwrite)")
        self.draws, self.count = int(state["draws"]), int(state["count"])


def dump_pairs(stream: PairStream, n: int, out: str | Path, progress: bool = True) -> Path:
    """Write ``n`` pairs as a paired dataset: ``A/000000.png`` (source), ``B/000000.png`` (target), plus
    ``pairs.jsonl`` (latent's anchor index) and ``latents.pt`` (the ws)."""
    out = Path(out)
    (out / "A").mkdir(parents=True, exist_ok=True)
    (out / "B").mkdir(parents=True, exist_ok=True)
    rows, all_ws, i = [], [], 0
    bar = progress_bar(n, desc="pairs", enabled=progress)
    while i < n:
        b = stream.sample(min(stream.batch, n - i))
        for x, y, a in zip(to_uint8(b["x"]), to_uint8(b["y"]), b["anchor"].tolist()):
            stem = f"{i:06d}"
            save_image(make_grid(x[None], nrow=1, pad=0), out / "A" / f"{stem}.png")
            save_image(make_grid(y[None], nrow=1, pad=0), out / "B" / f"{stem}.png")
            rows.append({"file_name": f"{stem}.png", "anchor": a})
            i += 1
        all_ws.append(b["ws"].cpu())
        bar.update(len(b["ws"]))
    bar.close()
    torch.save(torch.cat(all_ws), out / "latents.pt")
    atomic_write_text(out / "pairs.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    return out
