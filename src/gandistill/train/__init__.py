"""The shared training engine: one DDP-aware loop (:mod:`.loop`), the phase table with the one discriminator
phase (:mod:`.phases`), the GAN losses (:mod:`.gan_losses`), EMA, GPU precision settings, process set-up and
the loss-term protocol (:mod:`.terms`).

Layer: above persistence (``io``) and the networks, below the methods (teacher, kdit, gpd); it knows
nothing of any method's losses. The API and an example are in :mod:`gandistill.train.loop`.
"""
from .ddp import plan_batch, setup_processes
from .ema import EMA
from .loop import check_finite, train_loop
from .run_options import ProgressOption, RunOptions
from .phases import Phase, Round, d_phases, run_phase

__all__ = ["EMA", "Phase", "ProgressOption", "Round", "RunOptions", "check_finite", "d_phases", "plan_batch",
           "run_phase", "setup_processes", "train_loop"]
