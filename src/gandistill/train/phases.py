"""The phase table: what one training step does, as a list of phases (G main, G reg, D main, D reg, ...).

A :class:`Phase` names an optimiser, an interval (lazy regularisation: due when ``step % interval == 0``)
and a loss function of one micro-batch (:class:`Round`). :func:`run_phase` does the rest the same way for
every stage: only this phase's parameters require grad, gradients are accumulated over the rounds, the loss
is checked to be finite before it is used, gradients are averaged over the processes, and the optimiser
steps. :func:`d_phases` is the one discriminator phase (logistic loss + lazy R1) of every stage.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch

from ..utils import dist
from ..utils.dist import DistInfo
from .gan_losses import d_logistic, r1_penalty
from .precision import autocast


@dataclass(frozen=True)
class Round:
    """One micro-batch of a phase: ``index`` of ``count`` rounds of step ``step``, ``size`` samples each."""

    step: int
    index: int = 0
    count: int = 1
    size: int = 1


PhaseLoss = Callable[[Round], "tuple[torch.Tensor | None, dict[str, float]]"]


@dataclass
class Phase:
    """One optimisation phase of a step.

    ``loss(round) -> (loss, scalars)`` computes the loss of one micro-batch; the loop backpropagates
    ``loss / rounds``. Without an optimiser (``opt=None``) the function is called once per due step and does
    its own work (bookkeeping, or a stage that has not been split into phases yet); its loss is ignored.
    ``label`` names the loss in the divergence error; ``autocast`` allows bf16 on CUDA (off for regularisers
    that differentiate twice).
    """

    name: str
    loss: PhaseLoss
    opt: torch.optim.Optimizer | None = None
    interval: int = 1
    label: str | None = None
    autocast: bool = True
    params: list[torch.nn.Parameter] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.params = [p for g in self.opt.param_groups for p in g["params"]] if self.opt is not None else []
        self.label = self.label or f"loss/{self.name}"

    def due(self, step: int) -> bool:
        return self.interval > 0 and step % self.interval == 0


class NonFiniteLoss(ArithmeticError):
    """A phase's loss became NaN/inf; the loop turns it into the divergence error naming the last good state."""

    def __init__(self, label: str, value: float):
        super().__init__(f"{label} became {value}")
        self.label, self.value = label, value


def run_phase(phase: Phase, step: int, *, rounds: int = 1, size: int = 1, info: DistInfo | None = None,
              device: torch.device | str = "cpu", others: Sequence[Phase] = (), bf16: bool = True) -> dict[str, float]:
    """Run ``phase`` at ``step``: its scalars are averaged over the ``rounds`` micro-batches.

    ``others``: the other phases of the table, whose parameters are frozen while this one trains;
    ``bf16``: allow bf16 autocast on CUDA for phases that allow it (``--no-bf16``: fp32 everywhere).
    """
    info = info or DistInfo()
    mixed = phase.autocast and bf16
    if phase.opt is None:
        with autocast(device, mixed):
            _, stats = phase.loss(Round(step, 0, 1, size))
        return stats
    for other in others:
        for p in other.params:
            p.requires_grad_(False)
    for p in phase.params:
        p.requires_grad_(True)
    phase.opt.zero_grad(set_to_none=True)
    total: dict[str, float] = {}
    for index in range(rounds):
        with autocast(device, mixed):
            loss, stats = phase.loss(Round(step, index, rounds, size))
        value = float(loss.detach())
        if not math.isfinite(value):
            raise NonFiniteLoss(phase.label, value)
        (loss / rounds).backward()
        for key, v in stats.items():
            total[key] = total.get(key, 0.0) + v / rounds
    dist.average_gradients(phase.params, info)
    phase.opt.step()
    return total


def d_phases(disc: Callable[[torch.Tensor], torch.Tensor], opt: torch.optim.Optimizer,
             reals: Callable[[Round], torch.Tensor], fakes: Callable[[Round], torch.Tensor], *,
             r1_gamma: float, r1_interval: int, disc_reg: Callable[[torch.Tensor], torch.Tensor] | None = None,
             on_real_logits: Callable[[torch.Tensor], None] | None = None, r1_per_image: bool = True,
             penalty: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = r1_penalty,
             disc_pair: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None = None,
             ) -> list[Phase]:
    """The discriminator phases: ``D`` (logistic loss, reals vs fakes) and, if ``r1_gamma > 0``, ``D_reg``
    (lazy R1 on the same reals every ``r1_interval`` steps, weighted by the interval as in StyleGAN2).

    ``disc(x) -> logits`` includes any augmentation, so R1 is differentiated through it; ``disc_reg`` (default
    ``disc``) is used for R1 (an eager module where ``disc`` is compiled: R1 needs a double backward).
    ``fakes(round)`` runs without gradients; it may also return what the G phase of the same step stashed
    for that round (KDIT: the student's output). ``on_real_logits`` sees the real logits (ADA's statistics).
    Patch logits are fine: the losses average them, and R1 takes each image's mean logit
    (``r1_per_image=False`` sums every logit instead). ``penalty``: the R1 function (a variant, or a test's
    stand-in). ``disc_pair(fake, real) -> (fake_logits, real_logits)``: the same as two ``disc`` calls in
    that order, done at once (a D that can run both batches in one pass, e.g. ``Discriminator.pair``).
    """
    seen: dict[int, torch.Tensor] = {}  # each round's reals, reused by R1 in the same step

    def main(r: Round) -> tuple[torch.Tensor, dict[str, float]]:
        real = seen[r.index] = reals(r)
        with torch.no_grad():
            fake = fakes(r)
        if disc_pair is not None:
            fake_logits, real_logits = disc_pair(fake.detach(), real)
        else:
            fake_logits, real_logits = disc(fake.detach()), disc(real)
        # fp32 statistics under bf16 autocast (a no-op on CPU)
        fake_logits, real_logits = fake_logits.float(), real_logits.float()
        if on_real_logits is not None:
            on_real_logits(real_logits)
        loss = d_logistic(real_logits, fake_logits)
        return loss, {"loss/D": float(loss.detach()), "scores/real": float(real_logits.detach().mean()),
                      "scores/fake": float(fake_logits.detach().mean())}

    def reg(r: Round) -> tuple[torch.Tensor, dict[str, float]]:
        real = seen[r.index].detach().requires_grad_(True)
        logits = (disc_reg or disc)(real)
        value = penalty(real, logits.reshape(len(logits), -1).mean(1) if r1_per_image else logits)
        return value * (r1_gamma / 2) * r1_interval, {"loss/r1": float(value.detach())}

    phases = [Phase("D", main, opt, label="discriminator loss")]
    if r1_gamma > 0 and r1_interval > 0:
        phases.append(Phase("D_reg", reg, opt, interval=r1_interval, label="loss/r1", autocast=False))
    return phases
