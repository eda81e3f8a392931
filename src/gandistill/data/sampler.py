"""Infinite, seeded, resumable index sampler, sharded over distributed ranks.

Each epoch is a fresh permutation (seeded by seed + epoch); rank r takes every world-th index.
Its state is two integers, so a resumed run draws exactly the batches an uninterrupted one would.
"""
from __future__ import annotations

import torch


class InfiniteSampler:
    def __init__(self, size: int, rank: int = 0, world_size: int = 1, seed: int = 0, shuffle: bool = True):
        if size <= 0:
            raise ValueError("cannot sample from an empty dataset")
        self.size, self.rank, self.world_size, self.seed, self.shuffle = size, rank, world_size, seed, shuffle
        self.epoch, self.pos = 0, 0
        self._order = self._make_order()

    def _make_order(self) -> torch.Tensor:
        if not self.shuffle:
            full = torch.arange(self.size)
        else:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            full = torch.randperm(self.size, generator=g)
        # Repeat so every rank gets the same number of indices per epoch.
        reps = -(-self.world_size // self.size) if self.size < self.world_size else 1
        full = full.repeat(reps)
        usable = (len(full) // self.world_size) * self.world_size
        return full[:usable][self.rank::self.world_size]

    def next(self, n: int) -> torch.Tensor:
        out = []
        while n > 0:
            take = min(n, len(self._order) - self.pos)
            out.append(self._order[self.pos:self.pos + take])
            self.pos += take
            n -= take
            if self.pos >= len(self._order):
                self.epoch, self.pos = self.epoch + 1, 0
                self._order = self._make_order()
        return torch.cat(out)

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "pos": self.pos, "size": self.size}

    def load_state_dict(self, state: dict[str, int]) -> None:
        if int(state["size"]) != self.size:
            raise ValueError(f"sampler state is for {state['size']} items, dataset has {self.size}")
        self.epoch, self.pos = int(state["epoch"]), int(state["pos"])
        self._order = self._make_order()
