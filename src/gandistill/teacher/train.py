"""StyleGAN2 training (``gandistill teacher train``) on the shared engine (:mod:`gandistill.train`).

Single process:   gandistill teacher train --data toyfaces --resolution 32 --steps 3000
Several GPUs:     torchrun --nproc_per_node=4 -m gandistill.cli.main teacher train --data DIR ...
Resume:           gandistill teacher train --out runs/teacher --resume latest

One step is the phase table of :func:`teacher_phases`: G (non-saturating loss, style mixing) [+ lazy path
length] → D (logistic loss on augmented reals/fakes) [+ lazy R1]; then the engine's EMA and the ADA p update.
Everything that influences the future (weights, EMA, optimisers, ADA statistics, sampler position, RNG states)
is in the training state, so ``--resume`` continues bit-identically.
"""
from __future__ import annotations

import copy
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

import torch

from ..data.sampler import InfiniteSampler
from ..errors import CheckpointError
from ..train import EMA, Phase, Round, d_phases, plan_batch, setup_processes, train_loop
from ..train.gan_losses import g_nonsaturating, path_length, r1_gamma_heuristic, r1_penalty
from ..train.reals import xflip_take
from ..utils import dist
from ..utils.images import save_grid, to_float
from ..utils.training import adam, prepare_run_dir
from .augment import Augment
from .discriminator import Discriminator
from .generator import Generator
from .health import DiscriminatorWatch
from .model import Teacher, make_discriminator
from .train_config import TeacherTrainConfig
from .train_data import load_training_images

DIVERGED_HINT = "Lower --lr-g/--lr-d, raise --r1-gamma, or use --augment ada"


def _mixed_ws(G: Generator, z: torch.Tensor, prob: float) -> torch.Tensor:
    """Mapping with style-mixing regularisation: with probability ``prob`` swap in a second w from a random layer.

    Both z's go through the mapping network as one batch (it draws no random numbers, so the draws are
    those of two calls): half the matmul calls, each larger, for the 8 × 512² layers."""
    if prob > 0:
        cutoff = int(torch.randint(1, G.mapping.num_ws, ()))
        if float(torch.rand(())) < prob:
            ws, ws2 = G.mapping(torch.cat([z, torch.randn_like(z)])).chunk(2)
            return torch.cat([ws[:, :cutoff], ws2[:, cutoff:]], dim=1)
    return G.mapping(z)


def projected_schedule(cfg: TeacherTrainConfig, D: torch.nn.Module) -> Callable[[Round], tuple[None, dict]]:
    """A bookkeeping phase: the projected D's warm-up and blur fade at this step (a function of the step alone,
    so a resumed run continues exactly)."""
    def set_schedule(r: Round) -> tuple[None, dict[str, float]]:
        kimg = r.step * cfg.batch / 1000
        D.heads_on = kimg >= cfg.d_proj_warmup
        fade = max(0.0, 1 - kimg / cfg.d_proj_blur_fade)
        D.blur_sigma = max(cfg.model.d_proj_blur, cfg.d_proj_blur_init * fade)
        return None, {"schedule/heads_on": float(D.heads_on), "schedule/blur_sigma": D.blur_sigma}
    return set_schedule


def teacher_phases(cfg: TeacherTrainConfig, G: Generator, D: torch.nn.Module, aug: Augment, opts: tuple,
                   reals: Callable[[int], torch.Tensor], pl_mean: torch.Tensor, info: dist.DistInfo,
                   device: torch.device) -> list[Phase]:
    """The teacher's step: G main, G reg (lazy path length), D main and D reg (lazy R1)."""
    opt_g, opt_d = opts
    run_synthesis = torch.compile(G.synthesis) if cfg.compile else G.synthesis
    run_D = torch.compile(D) if cfg.compile else D
    mean_over_ranks = lambda t: dist.all_reduce_sum(t, info) / info.world_size  # noqa: E731

    def latents(n: int) -> torch.Tensor:
        return _mixed_ws(G, torch.randn(n, cfg.model.z_dim, device=device), cfg.style_mixing)

    def g_main(r: Round) -> tuple[torch.Tensor, dict[str, float]]:  # non-saturating loss on augmented fakes
        ws = latents(r.size)
        loss = g_nonsaturating(run_D(aug(run_synthesis(ws))))
        G.mapping.update_w_avg(mean_over_ranks(ws[:, 0].detach().float().mean(0))[None])
        return loss, {"loss/G": float(loss.detach())}

    def g_reg(r: Round) -> tuple[torch.Tensor, dict[str, float]]:  # eager synthesis: a double backward
        ws = latents(max(1, r.size // 2))
        pl = path_length(G.synthesis(ws), ws)
        pl_mean.copy_(pl_mean.lerp(mean_over_ranks(pl.detach().mean()), 0.01))
        loss = (pl - pl_mean).square().mean() * cfg.pl_weight * cfg.pl_interval
        return loss, {"loss/pl": float(loss.detach())}

    r1_gamma = cfg.r1_gamma if cfg.r1_gamma is not None else r1_gamma_heuristic(cfg.model.resolution, cfg.batch)
    # fakes and reals through D in one pass (augmented in the same order as two calls: the same randomness)
    pair = (lambda fake, real: D.pair(aug(fake), aug(real))) if isinstance(D, Discriminator) and not cfg.compile \
        else None
    d = d_phases(lambda x: run_D(aug(x)), opt_d, reals=lambda r: reals(r.size),
                 fakes=lambda r: G.synthesis(latents(r.size)), r1_gamma=r1_gamma, r1_interval=cfg.r1_interval,
                 disc_reg=lambda x: D(aug(x)), on_real_logits=aug.accumulate, r1_per_image=False,
                 penalty=r1_penalty, disc_pair=pair)  # R1 on un-augmented reals, through the augmentation, eager D
    g_reg_interval = cfg.pl_interval if cfg.pl_weight > 0 else 0
    schedule = [Phase("schedule", projected_schedule(cfg, D))] if cfg.model.d_arch == "projected" else []
    return [*schedule, Phase("G", g_main, opt_g, label="generator loss"),
            Phase("G_reg", g_reg, opt_g, interval=g_reg_interval, label="loss/pl", autocast=False), *d]


def train_teacher(cfg: TeacherTrainConfig, dry_run: bool = False,
                  on_finish: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """Train (or resume) a StyleGAN2 teacher; returns the path of the inference model directory.

    ``on_finish`` is called on every process with this process's networks (G, D, G_ema, aug) and step.
    """
    device, info = setup_processes(cfg.device)
    out, mcfg = Path(cfg.out), cfg.model
    inputs = {"--init-from": cfg.init_from, "--data": cfg.data}
    # before any work: never a fresh run over an earlier one; only rank 0 deletes (with --overwrite)
    prepare_run_dir(out, cfg.resume, cfg.overwrite, clear=info.is_main and not dry_run, inputs=inputs)
    dist.barrier(info)
    batch_gpu, rounds = plan_batch(cfg.batch, cfg.batch_gpu, info.world_size)
    images = load_training_images(cfg.data, mcfg.resolution, mcfg.img_channels, n=cfg.data_n,
                                  seed=cfg.data_seed, max_images=cfg.max_images)
    if info.is_main:
        print(f"data: {len(images)} images of {mcfg.img_channels}×{mcfg.resolution}² from {cfg.data}"
              f"{' (+ mirrored copies)' if cfg.xflip else ''}; batch {cfg.batch} = {batch_gpu} × "
              f"{info.world_size} procs × {rounds} rounds; device {device}")
    if dry_run:
        if info.is_main:
            print(json.dumps(asdict(cfg), indent=2))
        return out / "model"

    torch.manual_seed(cfg.seed)  # identical initial weights on every rank
    G = Generator(mcfg).to(device).train()
    D = make_discriminator(mcfg)
    if mcfg.d_arch == "projected" and not (cfg.init_from or cfg.resume):
        D.load_backbone()
    D = D.to(device).train()
    aug = Augment(cfg.augment, cfg.diffaug_policy, target=cfg.ada_target, speed_kimg=cfg.ada_kimg).to(device)
    if cfg.init_from:
        src = Teacher.from_pretrained(cfg.init_from)
        if asdict(src.config) != asdict(mcfg):
            raise CheckpointError(f"--init-from {cfg.init_from}: its architecture differs from this run's "
                                  f"({asdict(src.config)} vs {asdict(mcfg)}); pass matching model options")
        G.load_state_dict(src.G.state_dict())
        D.load_state_dict(src.D.state_dict())
    G_ema = copy.deepcopy(G).eval().requires_grad_(False)
    opt_g = adam(G.parameters(), cfg.lr_g, cfg.beta2, cfg.pl_interval if cfg.pl_weight > 0 else 0)
    opt_d = adam(D.parameters(), cfg.lr_d, cfg.beta2, cfg.r1_interval)
    pl_mean = torch.zeros([], device=device)
    sampler = InfiniteSampler(len(images) * (2 if cfg.xflip else 1), info.rank, info.world_size, seed=cfg.seed)
    if cfg.channels_last:
        for net in (G, D, G_ema):
            net.to(memory_format=torch.channels_last)
    memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format

    def reals(n: int) -> torch.Tensor:
        return to_float(xflip_take(images, sampler.next(n)).to(device)).contiguous(memory_format=memory_format)

    watch = DiscriminatorWatch(cfg.augment) if info.is_main else None  # one-line warning when D wins for long

    def after_step(step: int, stats: dict[str, float]) -> dict[str, float]:  # ADA: move p towards its target
        extra = {}
        if cfg.augment == "ada" and step % cfg.ada_interval == 0:
            rt = aug.update(cfg.batch * cfg.ada_interval, sync=lambda t: dist.all_reduce_sum(t, info))
            if rt is not None:
                extra["ada/rt"] = rt
        extra["ada/p"] = float(aug.p)
        if watch is not None:
            watch.update(step, {**stats, **extra})
        return extra

    grid_z = torch.randn(64, mcfg.z_dim, generator=torch.Generator().manual_seed(cfg.seed + 123)).to(device)

    def grid(step: int) -> None:
        fakes = torch.cat([G_ema(z, noise_mode="const") for z in grid_z.split(16)])
        save_grid(fakes, out / "samples" / f"fakes-{step:08d}.png", nrow=8)

    def save_model(step: int) -> None:
        Teacher.from_networks(G_ema, D).save_pretrained(out / "model", extra={"step": step,
                                                                               "kimg": step * cfg.batch / 1000})

    if info.is_main and not cfg.resume:
        save_grid(images[:64], out / "samples" / "reals.png", nrow=8)
    phases = teacher_phases(cfg, G, D, aug, (opt_g, opt_d), reals, pl_mean, info, device)
    objs = {"G": G, "D": D, "G_ema": G_ema, "aug": aug, "opt_g": opt_g, "opt_d": opt_d, "sampler": sampler,
            "pl_mean": pl_mean}
    ema_kimg = cfg.ema_kimg if cfg.ema_kimg is not None else cfg.batch * 10 / 32
    step = train_loop(cfg, phases, objs, save_model=save_model, desc="teacher",
                      resume_hint="gandistill teacher train", device=device, info=info, grid=grid,
                      ema=EMA(G_ema, G, cfg.batch, ema_kimg, cfg.ema_rampup), after_step=after_step,
                      arch_keys=("model",), bar_keys=("loss/G", "loss/D", "ada/p"), diverged_hint=DIVERGED_HINT,
                      seed=cfg.seed, inputs=inputs)
    if on_finish is not None:
        on_finish({"G": G, "D": D, "G_ema": G_ema, "aug": aug, "step": step, "rank": info.rank})
    return out / "model"
