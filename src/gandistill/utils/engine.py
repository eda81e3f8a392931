"""Transition shims over the one engine (:mod:`gandistill.train`) for stages not yet split into phases:
``run_loop`` runs a whole-step function as a single phase of :func:`gandistill.train.loop.train_loop`, and
``d_step`` runs the engine's discriminator phases (:func:`gandistill.train.phases.d_phases`) once."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import torch

from ..train.loop import DIVERGED_HINT, check_finite, train_loop
from ..train.run_options import ProgressOption, RunOptions
from ..train.phases import Phase, d_phases, run_phase

__all__ = ["DIVERGED_HINT", "ProgressOption", "RunOptions", "check_finite", "d_step", "run_loop"]


def d_step(D: torch.nn.Module, opt_d: torch.optim.Optimizer, real: torch.Tensor, fake: torch.Tensor,
           c: torch.Tensor | None, r1_gamma: float, do_r1: bool, r1_interval: int,
           augment: Callable[[torch.Tensor], torch.Tensor] | None = None) -> dict[str, float]:
    """One discriminator update (logistic loss, then lazy R1 on ``real`` if ``do_r1``); ``augment`` (if given)
    is applied to every discriminator input, R1 included. Leaves D frozen for the generator's phase."""
    def disc(x: torch.Tensor) -> torch.Tensor:
        x = augment(x) if augment is not None else x
        return D(x) if c is None else D(x, c)

    phases = d_phases(disc, opt_d, reals=lambda r: real, fakes=lambda r: fake, r1_gamma=r1_gamma,
                      r1_interval=r1_interval)
    stats: dict[str, float] = {}
    for phase in phases:
        if phase.name == "D" or do_r1:
            stats.update(run_phase(phase, 0, device=real.device))
    D.requires_grad_(False)
    return stats


def run_loop(cfg: Any, out: Path, state_objs: dict[str, Any], step_fn: Callable[[int], dict[str, float]],
             save_model: Callable[[int], None], save_grid: Callable[[int], dict[str, float] | None] | None,
             desc: str, *, arch_keys: tuple[str, ...], resume_hint: str,
             bar_keys: tuple[str, ...] = ("loss/G_total", "loss/D"), device: torch.device | str = "cpu",
             model_dir: Path | None = None, diverged_hint: str = DIVERGED_HINT) -> int:
    """Run ``cfg.steps`` steps of ``step_fn(step) -> scalars`` (one whole step, its own optimisation) on the
    engine loop in one process; ``out`` must be ``cfg.out``. Returns the last step."""
    if Path(out) != Path(cfg.out):
        raise ValueError(f"run_loop: out {out} is not cfg.out {cfg.out}")
    whole_step = Phase("step", lambda r: (None, step_fn(r.step)), autocast=False)  # fp32 until ported
    return train_loop(cfg, [whole_step], state_objs, save_model=save_model, desc=desc, resume_hint=resume_hint,
                      device=device, grid=save_grid, arch_keys=arch_keys, bar_keys=bar_keys, model_dir=model_dir,
                      diverged_hint=diverged_hint)
