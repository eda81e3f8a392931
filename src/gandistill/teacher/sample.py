"""Sampling from a trained teacher: images for given seeds and style-mixing grids."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from ..errors import OptionError
from ..options import field
from ..utils.inference import inference, prepare_for_inference
from .generator import Generator


@dataclass
class SamplingOptions:
    """``--psi`` and ``--noise-mode``: how latents become images, for every command that samples the teacher."""

    psi: float = field(1.0, help="truncation ψ: 1 = none, smaller = closer to the average image, typically 0.5-1")
    noise_mode: Literal["const", "random", "none"] = field(
        "const", help="synthesis noise: const (the model's fixed noise maps, reproducible), random (fresh per "
        "image) or none")


MAX_SEEDS = 1_000_000  # more images than any evaluation needs; a typo like 0-99999999 must not hang


def parse_seeds(text: str, option: str = "--seeds") -> list[int]:
    """'0-3,10' → [0, 1, 2, 3, 10]; anything else is an OptionError naming ``option``."""
    def bad(why: str) -> OptionError:
        return OptionError(f"{option} {text!r}: {why}; write comma-separated seeds and inclusive ranges, "
                           "e.g. 0-15,42")

    seeds: list[int] = []
    for part in filter(None, (p.strip() for p in str(text).split(","))):
        lo_text, dash, hi_text = part.partition("-")
        try:
            lo, hi = (int(lo_text), int(hi_text)) if dash else (int(part), int(part))
        except ValueError:
            raise bad(f"{part!r} is not a seed or a range of seeds (seeds are non-negative integers)") from None
        if hi < lo:
            raise bad(f"range {part!r} ends before it starts (write {hi}-{lo})")
        if len(seeds) + hi - lo + 1 > MAX_SEEDS:
            raise bad(f"more than {MAX_SEEDS} seeds")
        seeds.extend(range(lo, hi + 1))
    if not seeds:
        raise bad("no seeds given")
    return seeds


def seed_z(G: Generator, seeds: list[int]) -> torch.Tensor:
    """One z per seed, independent of how many seeds are asked for (same seed → same image)."""
    return torch.stack([torch.randn(G.z_dim, generator=torch.Generator().manual_seed(s)) for s in seeds])


@inference
def sample_seeds(G: Generator, seeds: list[int], psi: float = 1.0, noise_mode: str = "const",
                 batch: int = 16) -> torch.Tensor:
    """Float images in [-1, 1] for ``seeds``; ``G`` is prepared for inference (eval, channels-last) in place."""
    G = prepare_for_inference(G)
    device = next(G.parameters()).device
    z = seed_z(G, seeds).to(device)
    return torch.cat([G(zb, psi=psi, noise_mode=noise_mode) for zb in z.split(batch)])  # type: ignore[arg-type]


@inference
def style_mix_grid(G: Generator, row_seeds: list[int], col_seeds: list[int], crossover: int,
                   psi: float = 1.0, noise_mode: str = "const") -> torch.Tensor:
    """Images for a (rows+1) × (cols+1) grid: corner blank, top row = column seeds, left column = row seeds,
    cell (r, c) = ws[:crossover] from row seed r (coarse layers) and ws[crossover:] from column seed c (fine layers)."""
    if not 0 <= crossover <= G.num_ws:
        raise ValueError(f"crossover must be in 0…{G.num_ws}, got {crossover}")
    G = prepare_for_inference(G)
    device = next(G.parameters()).device
    w_rows = G.mapping(seed_z(G, row_seeds).to(device), psi=psi)
    w_cols = G.mapping(seed_z(G, col_seeds).to(device), psi=psi)
    synth = lambda ws: G.synthesis(ws, noise_mode=noise_mode)  # noqa: E731
    top = synth(w_cols)
    left = synth(w_rows)
    blank = torch.ones_like(top[:1])
    cells = [blank, top]
    for r in range(len(row_seeds)):
        ws = w_cols.clone()
        ws[:, :crossover] = w_rows[r:r + 1, :crossover]
        cells += [left[r:r + 1], synth(ws)]
    return torch.cat(cells)
