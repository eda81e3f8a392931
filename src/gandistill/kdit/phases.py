"""The KDIT step as a phase table of the one training loop (:mod:`gandistill.train`), shared by ``kdit distill``
and ``kdit finetune``.

``G``: the student on the weighted loss terms (:mod:`.losses`) of one micro-batch. When the adversarial weight is
non-zero, the engine's discriminator phases follow (:func:`gandistill.train.phases.d_phases`): the same round's
targets are real, the student's outputs of that round (before its update) are fake, lazy R1 on the targets. An
X2I discriminator is conditioned on ``c = S_E(real)``, the code the student was given for those targets.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from ..train.phases import Phase, Round, d_phases
from ..train.terms import combine
from .losses import TERMS, KDITBatch


@dataclass
class StudentRound:
    """What the student phase computed on one micro-batch: the loss terms' inputs, and the discriminator's
    fake (the student output), real (its target) and condition (``None`` for an unconditional D)."""

    batch: KDITBatch
    fake: torch.Tensor
    real: torch.Tensor
    c: torch.Tensor | None = None


def student_phases(make_round: Callable[[Round], StudentRound], weights: dict[str, float],
                   opt_g: torch.optim.Optimizer, D: torch.nn.Module, opt_d: torch.optim.Optimizer, *,
                   r1_gamma: float, r1_interval: int,
                   condition_of: Callable[[torch.Tensor], torch.Tensor] | None = None) -> list[Phase]:
    """``[G, D, D_reg]`` (``[G]`` when ``w_adv`` is 0). ``make_round(round)`` runs the student on one micro-batch;
    ``condition_of(real)`` recomputes an X2I discriminator's condition for R1 (it is a function of the real)."""
    seen: dict[int, tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]] = {}  # (fake, real, c) per round
    current: list[torch.Tensor | None] = [None]  # the condition of the round the D phase is on

    def g_main(r: Round) -> tuple[torch.Tensor, dict[str, float]]:
        out = make_round(r)
        seen[r.index] = (out.fake.detach(), out.real.detach(), out.c)  # for this step's D phase
        return combine(TERMS, out.batch, weights)

    phases = [Phase("G", g_main, opt_g, label="student loss")]
    if not weights.get("adv"):
        return phases

    def reals(r: Round) -> torch.Tensor:  # d_phases asks for the reals first in every round
        current[0] = seen[r.index][2]
        return seen[r.index][1]

    def disc_reg(x: torch.Tensor) -> torch.Tensor:
        return D(x, None if condition_of is None else condition_of(x.detach()))

    return phases + d_phases(lambda x: D(x, current[0]), opt_d, reals=reals, fakes=lambda r: seen[r.index][0],
                             r1_gamma=r1_gamma, r1_interval=r1_interval, disc_reg=disc_reg)
