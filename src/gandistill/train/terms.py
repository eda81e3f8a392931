"""The loss-term protocol every stage uses: small callables ``term(batch) -> Tensor`` and one combiner.

A stage keeps its terms in a ``{name: term}`` table; the weight of term ``name`` is the config field
``w_<name>``, so ``--w-<name> 0`` switches a term off for an ablation (its inputs are then not even
computed). ``batch`` is whatever the stage's step computed (a dataclass of tensors); a term reads
what it needs from it.

    loss, stats = combine(TERMS, batch, weights_of(cfg, TERMS))
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

import torch

Term = Callable[[Any], torch.Tensor]


def weights_of(cfg: Any, names: Iterable[str]) -> dict[str, float]:
    """``{name: cfg.w_<name>}`` for the given term names (a missing or ``None`` field counts as 0)."""
    return {name: float(getattr(cfg, f"w_{name}", 0.0) or 0.0) for name in names}


def combine(terms: Mapping[str, Term], batch: Any, weights: Mapping[str, float], *,
            total_key: str = "loss/G_total") -> tuple[torch.Tensor, dict[str, float]]:
    """``Σ w·term(batch)`` over the terms with a non-zero weight, and ``{"loss/<name>": value, total_key: sum}``.

    Terms with weight 0 are not called; with no active term the total is a plain zero.
    """
    total: torch.Tensor | None = None
    stats: dict[str, float] = {}
    for name, w in weights.items():
        if w == 0:
            continue
        if name not in terms:
            raise KeyError(f"no loss term named {name!r} (known: {', '.join(terms)})")
        value = terms[name](batch)
        stats[f"loss/{name}"] = float(value.detach())
        total = w * value if total is None else total + w * value
    if total is None:
        total = torch.zeros(())
    stats[total_key] = float(total.detach())
    return total, stats
