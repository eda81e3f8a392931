"""StyleGAN2 training engine (``gandistill teacher train``).

Single process:   gandistill teacher train --data toyfaces --resolution 32 --steps 3000
Several GPUs:     torchrun --nproc_per_node=4 -m gandistill.cli.main teacher train --data DIR ...
Resume:           gandistill teacher train --out runs/teacher --resume latest

One step = G phase (non-saturating loss, style mixing) [+ lazy path-length] → D phase
(logistic loss on augmented reals/fakes) [+ lazy R1] → EMA → ADA p update. Everything that
influences the future (weights, EMA, optimisers, ADA statistics, sampler position, RNG states) is
in the training state, so ``--resume`` continues bit-identically.
"""
from __future__ import annotations

import copy
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

import torch

from ..data.sampler import InfiniteSampler
from ..errors import CheckpointError, GandistillError
from ..io.atomic import dump_json
from ..io.state import NonFiniteStateError, describe_entries, load_state, resolve_resume, save_state
from ..options import from_dict
from ..utils import dist
from ..utils.images import save_grid, to_float
from ..utils.logging import ScalarLog, progress_bar
from ..utils.training import StopFlag as _StopFlag
from ..utils.training import adam as _adam
from ..utils.training import (config_record, divergence_error, learning_rates, nonfinite_stats, prepare_run_dir,
                              restore_learning_rates)
from .augment import Augment
from .generator import Generator
from .health import DiscriminatorWatch
from .loss import d_logistic, g_nonsaturating, path_length, r1_penalty
from .model import Teacher, make_discriminator
from .train_config import TeacherTrainConfig
from .train_data import load_training_images


def _mixed_ws(G: Generator, z: torch.Tensor, prob: float) -> torch.Tensor:
    """Mapping with style-mixing regularisation: with probability ``prob`` swap in a second w from a random layer."""
    ws = G.mapping(z)
    if prob > 0:
        cutoff = int(torch.randint(1, ws.shape[1], ()))
        if float(torch.rand(())) < prob:
            ws2 = G.mapping(torch.randn_like(z))
            ws = torch.cat([ws[:, :cutoff], ws2[:, cutoff:]], dim=1)
    return ws


DIVERGED_HINT = "Lower --lr-g/--lr-d, raise --r1-gamma, or use --augment ada"


def _check_finite(name: str, value: torch.Tensor, step: int, out: Path) -> None:
    if not torch.isfinite(value).all():
        raise divergence_error(f"{name} became {float(value.detach())}", step, out / "checkpoints", DIVERGED_HINT)


def train_teacher(cfg: TeacherTrainConfig, dry_run: bool = False,
                  on_finish: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """Train (or resume) a StyleGAN2 teacher; returns the path of the inference model directory.

    ``on_finish`` is called on every process with this process's networks (G, D, G_ema, aug) and step.
    """
    device = dist.resolve_device(cfg.device, 0)
    info = dist.init_distributed(device)
    if info.enabled and device.type == "cuda":
        device = torch.device("cuda", info.local_rank)
    out = Path(cfg.out)
    mcfg = cfg.model
    # before any work: never a fresh run over an earlier one; only rank 0 deletes (with --overwrite)
    prepare_run_dir(out, cfg.resume, cfg.overwrite, clear=info.is_main and not dry_run,
                    inputs={"--init-from": cfg.init_from, "--data": cfg.data})
    dist.barrier(info)

    batch_gpu = cfg.batch_gpu or cfg.batch // info.world_size
    rounds = cfg.batch // (batch_gpu * info.world_size)
    if rounds < 1 or rounds * batch_gpu * info.world_size != cfg.batch:
        raise GandistillError(f"--batch {cfg.batch} must be a multiple of --batch-gpu {batch_gpu} × "
                              f"{info.world_size} processes")
    r1_gamma = cfg.r1_gamma if cfg.r1_gamma is not None else 0.0002 * mcfg.resolution ** 2 / cfg.batch
    ema_kimg = cfg.ema_kimg if cfg.ema_kimg is not None else cfg.batch * 10 / 32

    images = load_training_images(cfg.data, mcfg.resolution, mcfg.img_channels, n=cfg.data_n,
                                  seed=cfg.data_seed, max_images=cfg.max_images)
    n_items = len(images) * (2 if cfg.xflip else 1)
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
    opt_g = _adam(G.parameters(), cfg.lr_g, cfg.beta2, cfg.pl_interval if cfg.pl_weight > 0 else 0)
    opt_d = _adam(D.parameters(), cfg.lr_d, cfg.beta2, cfg.r1_interval)
    pl_mean = torch.zeros([], device=device)
    sampler = InfiniteSampler(n_items, info.rank, info.world_size, seed=cfg.seed)
    start = 0

    if cfg.resume:
        path = resolve_resume(cfg.resume, out / "checkpoints")
        state = load_state(path, map_location=device)
        saved = from_dict(TeacherTrainConfig, json.loads(state["config"]))
        if asdict(saved.model) != asdict(mcfg):
            raise CheckpointError(f"{path} was trained with a different architecture ({asdict(saved.model)}); "
                                  "pass the same model options or resume from its own config.json")
        objs = {"G": G, "D": D, "G_ema": G_ema, "aug": aug, "opt_g": opt_g, "opt_d": opt_d, "sampler": sampler}
        wanted_lr = learning_rates(objs)  # this run's --lr-g/--lr-d; the loaded optimisers carry the old ones
        for name, obj in objs.items():
            obj.load_state_dict(state[name])
        for line in restore_learning_rates(objs, wanted_lr):
            if info.is_main:
                print(f"--resume: {line}")
        pl_mean.copy_(state["pl_mean"])
        if len(state["rng"]) != info.world_size:
            raise CheckpointError(f"{path} was written by {len(state['rng'])} processes; resume with the same "
                                  f"number (now {info.world_size}) for an exact continuation")
        torch.set_rng_state(state["rng"][info.rank])
        if device.type == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(state["cuda_rng"][info.rank], device)
        start = int(state["step"])
        if info.is_main:
            print(f"resumed from {path} at step {start}")
    else:
        dist.broadcast_module(G, info)
        dist.broadcast_module(D, info)
        dist.broadcast_module(G_ema, info)
        torch.manual_seed(cfg.seed * 7919 + info.rank)  # per-rank noise, latents and augmentation

    if cfg.channels_last:
        for net in (G, D, G_ema):
            net.to(memory_format=torch.channels_last)
    run_synthesis = torch.compile(G.synthesis) if cfg.compile else G.synthesis
    run_D = torch.compile(D) if cfg.compile else D

    def fetch_reals(n: int) -> torch.Tensor:
        idx = sampler.next(n)
        flip = idx >= len(images)
        batch = images[idx % len(images)]
        batch = torch.where(flip.view(-1, 1, 1, 1), batch.flip(3), batch)
        x = to_float(batch.to(device))
        return x.contiguous(memory_format=torch.channels_last) if cfg.channels_last else x

    def D_aug(img: torch.Tensor) -> torch.Tensor:
        return run_D(aug(img))

    log = ScalarLog(out, enabled=info.is_main, start_step=start)
    grid_z = torch.randn(64, mcfg.z_dim, generator=torch.Generator().manual_seed(cfg.seed + 123)).to(device)
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        dump_json(config_record(cfg), out / "config.json")
        if start == 0:
            save_grid(images[:64], out / "samples" / "reals.png", nrow=8)

    def snapshot(step: int) -> None:
        rng = dist.all_gather_objects(torch.get_rng_state(), info)
        cuda_rng = dist.all_gather_objects(torch.cuda.get_rng_state(device), info) if device.type == "cuda" else None
        if not info.is_main:
            return
        state = {"step": step, "G": G.state_dict(), "D": D.state_dict(), "G_ema": G_ema.state_dict(),
                 "aug": aug.state_dict(), "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
                 "sampler": sampler.state_dict(), "pl_mean": pl_mean, "rng": rng, "cuda_rng": cuda_rng,
                 "config": json.dumps(config_record(cfg))}
        try:
            save_state(out / "checkpoints", step, state, keep=cfg.keep)
        except NonFiniteStateError as exc:  # model/ keeps the last finite weights too
            raise divergence_error(f"non-finite values in {describe_entries(exc.entries)}", step,
                                   out / "checkpoints", DIVERGED_HINT) from None
        with torch.random.fork_rng(devices=[]):  # building the Teacher container must not consume training RNG
            teacher = Teacher.from_networks(G_ema, D)
        teacher.save_pretrained(out / "model", extra={"step": step, "kimg": step * cfg.batch / 1000})

    bar = progress_bar(total=cfg.steps, initial=start, desc="teacher", enabled=info.is_main and cfg.progress)
    t_last = time.perf_counter()
    step = start
    watch = DiscriminatorWatch(cfg.augment) if info.is_main else None  # one-line warning when D wins for long
    with _StopFlag() as stop:
        while step < cfg.steps:
            stats: dict[str, float] = {}
            # --- G main: non-saturating loss on augmented fakes ---
            G.requires_grad_(True)
            D.requires_grad_(False)
            opt_g.zero_grad(set_to_none=True)
            for _ in range(rounds):
                z = torch.randn(batch_gpu, mcfg.z_dim, device=device)
                ws = _mixed_ws(G, z, cfg.style_mixing)
                fake = run_synthesis(ws)
                loss_g = g_nonsaturating(D_aug(fake))
                (loss_g / rounds).backward()
                w_mean = dist.all_reduce_sum(ws[:, 0].detach().mean(0), info) / info.world_size
                G.mapping.update_w_avg(w_mean[None])
            _check_finite("generator loss", loss_g, step, out)
            dist.average_gradients(list(G.parameters()), info)
            opt_g.step()
            stats["loss/G"] = float(loss_g.detach())

            # --- G reg: lazy path-length regularisation ---
            if cfg.pl_weight > 0 and step % cfg.pl_interval == 0:
                opt_g.zero_grad(set_to_none=True)
                for _ in range(rounds):
                    z = torch.randn(max(1, batch_gpu // 2), mcfg.z_dim, device=device)
                    ws = _mixed_ws(G, z, cfg.style_mixing)
                    pl = path_length(G.synthesis(ws), ws)  # eager synthesis: double backward (as R1)
                    pl_batch = dist.all_reduce_sum(pl.detach().mean(), info) / info.world_size
                    pl_mean.copy_(pl_mean.lerp(pl_batch, 0.01))
                    loss_pl = (pl - pl_mean).square().mean() * cfg.pl_weight * cfg.pl_interval
                    (loss_pl / rounds).backward()
                dist.average_gradients(list(G.parameters()), info)
                opt_g.step()
                stats["loss/pl"] = float(loss_pl.detach())

            # --- D main: logistic loss; reals and fakes both augmented ---
            G.requires_grad_(False)
            D.requires_grad_(True)
            opt_d.zero_grad(set_to_none=True)
            reals = [fetch_reals(batch_gpu) for _ in range(rounds)]
            for real in reals:
                with torch.no_grad():
                    z = torch.randn(batch_gpu, mcfg.z_dim, device=device)
                    fake = G.synthesis(_mixed_ws(G, z, cfg.style_mixing))
                fake_logits = D_aug(fake)
                real_logits = D_aug(real)
                aug.accumulate(real_logits)
                loss_d = d_logistic(real_logits, fake_logits)
                (loss_d / rounds).backward()
            _check_finite("discriminator loss", loss_d, step, out)
            dist.average_gradients(list(D.parameters()), info)
            opt_d.step()
            stats.update({"loss/D": float(loss_d.detach()), "scores/real": float(real_logits.detach().mean()),
                          "scores/fake": float(fake_logits.detach().mean())})

            # --- D reg: lazy R1 on (un-augmented) reals, differentiated through the augmentation ---
            if cfg.r1_interval > 0 and r1_gamma > 0 and step % cfg.r1_interval == 0:
                opt_d.zero_grad(set_to_none=True)
                for real in reals:
                    real = real.detach().requires_grad_(True)
                    # eager D: R1 needs a double backward, which compiled (aot_autograd) graphs do not support
                    penalty = r1_penalty(real, D(aug(real)))
                    ((penalty * (r1_gamma / 2) * cfg.r1_interval) / rounds).backward()
                dist.average_gradients(list(D.parameters()), info)
                opt_d.step()
                stats["loss/r1"] = float(penalty.detach())

            # --- EMA of the generator (half-life in images, with ramp-up) ---
            nimg = (step + 1) * cfg.batch
            ema_nimg = ema_kimg * 1000
            if cfg.ema_rampup is not None:
                ema_nimg = min(ema_nimg, nimg * cfg.ema_rampup)
            beta = 0.5 ** (cfg.batch / max(ema_nimg, 1e-8))
            with torch.no_grad():
                for p_ema, p in zip(G_ema.parameters(), G.parameters()):
                    p_ema.copy_(p.detach().lerp(p_ema, beta))
                for b_ema, b in zip(G_ema.buffers(), G.buffers()):
                    b_ema.copy_(b)

            # --- ADA: move p towards the target overfitting heuristic ---
            if cfg.augment == "ada" and (step + 1) % cfg.ada_interval == 0:
                rt = aug.update(cfg.batch * cfg.ada_interval, sync=lambda t: dist.all_reduce_sum(t, info))
                if rt is not None:
                    stats["ada/rt"] = rt
            stats["ada/p"] = float(aug.p)
            bad = nonfinite_stats(stats)  # R1 and path length too, not only the G/D losses
            if bad:
                raise divergence_error(f"{bad}", step, out / "checkpoints", DIVERGED_HINT)
            step += 1
            if watch is not None:
                watch.update(step, stats)

            now = time.perf_counter()
            stats["time/sec_per_step"] = now - t_last
            t_last = now
            if step % cfg.log_every == 0 or step == cfg.steps:
                log.write(step, nimg, stats)
            bar.update(1)
            bar.set_postfix(G=f"{stats['loss/G']:.3f}", D=f"{stats['loss/D']:.3f}", p=f"{float(aug.p):.2f}")
            if info.is_main and cfg.grid_every and (step % cfg.grid_every == 0 or step == cfg.steps):
                with torch.no_grad():
                    grid = torch.cat([G_ema(z, noise_mode="const") for z in grid_z.split(16)])
                save_grid(grid, out / "samples" / f"fakes-{step:08d}.png", nrow=8)
            stop_now = bool(dist.all_reduce_sum(torch.tensor(float(stop.requested)), info) > 0)
            if step % cfg.snap_every == 0 or step == cfg.steps or stop_now:
                snapshot(step)
            if stop_now:
                break
    bar.close()
    log.close()
    if on_finish is not None:
        on_finish({"G": G, "D": D, "G_ema": G_ema, "aug": aug, "step": step, "rank": info.rank})
    dist.barrier(info)
    if step < cfg.steps and info.is_main:
        print(f"stopped at step {step}; continue with: gandistill teacher train --out {out} --resume latest")
    return out / "model"
