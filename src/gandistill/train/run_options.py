"""The engine options every training stage shares (one declaration; stages inherit them and may change a
default by re-declaring that one field)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..options import DeviceOption, field


@dataclass
class ProgressOption:
    """``--progress/--no-progress``, shared by every stage that shows a bar (log files want it off)."""

    progress: bool = field(True, help="show a progress bar")


@dataclass
class RunOptions(ProgressOption, DeviceOption):
    """Options of :func:`gandistill.train.loop.train_loop`: seed, device, cadence of logs/grids/states, resume."""

    seed: int = field(0, help="random seed (per-process seeds derive from it)")
    log_every: int = field(10, help="write scalars every N steps")
    grid_every: int = field(100, help="write a sample grid every N steps (0 disables)")
    snap_every: int = field(200, help="write training state and model every N steps")
    keep: int = field(3, help="keep the last N training states")
    resume: str | None = field(None, help="continue a run: 'latest' (newest state in --out), a state-*.pt file "
                                          "or a run directory (default: start fresh)")
    bf16: bool = field(True, help="bf16 autocast of the forward passes on CUDA (CPU always runs fp32)")
    overwrite: bool = field(False, help="start afresh in an --out that holds an earlier run, deleting its "
                                        "checkpoints, log, samples and model (default: refuse)")


@dataclass
class GANOptions:
    """The StyleGAN2-style G/D options the teacher and ``gpd adapt`` share: Adam, lazy R1, D augmentation
    (the teacher's defaults; ``gpd adapt`` changes some with :func:`gandistill.options.field_like`)."""

    lr_g: float = field(0.0025, help="generator learning rate")
    lr_d: float = field(0.0025, help="discriminator learning rate")
    beta2: float = field(0.99, help="Adam beta2 (beta1 is 0)")
    r1_gamma: float | None = field(None, help="R1 weight; default 0.0002·res²/batch (NVlabs heuristic)")
    r1_interval: int = field(16, help="lazy R1: apply every N steps (0 disables)")
    augment: Literal["none", "diffaug", "ada"] = field("diffaug", help="discriminator augmentation")
    diffaug_policy: str = field("color,translation,cutout", help="comma-separated DiffAugment ops from "
                                                                 "color, translation, cutout")
