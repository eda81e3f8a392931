"""GPD stage 1: few-shot adaptation of the source teacher to the target domain (``gandistill gpd adapt``).

    gandistill gpd adapt --teacher runs/teacher/model --target data/sketches10 --out runs/adapt --steps 300
    gandistill gpd adapt --out runs/adapt --resume latest

G_target and D_target start as copies of G_T and D_T. The mapping network is frozen, so both generators
share W and a latent w names an aligned (source, target) pair. One step = G phase (non-saturating loss
on augmented fakes + ``cdc_weight`` × CDC against the frozen G_T on the same latents) → D phase (logistic
loss on the augmented few targets and fakes) [+ lazy R1]. ``cdc_weight 0`` is plain fine-tuning;
``freeze_g`` / ``freeze_d`` freeze generator blocks / early discriminator layers.
"""
from __future__ import annotations

import copy
import json
import time
from dataclasses import asdict
from pathlib import Path

import torch

from ..config import dump_json
from ..data.sampler import InfiniteSampler
from ..errors import GandistillError
from ..teacher import Generator, Teacher
from ..teacher.augment import Augment
from ..teacher.loss import d_logistic, g_nonsaturating, r1_penalty
from ..utils.dist import resolve_device
from ..utils.images import save_grid, to_float
from ..utils.logging import ScalarLog, progress_bar
from .cdc import cdc_loss
from .common import NOISE_MODE, StopFlag, adam, restore_rng, resume_state, snapshot_state
from .config import AdaptConfig
from .targets import load_targets


def cdc_term(G_T: Generator, G: Generator, ws: torch.Tensor, weight: float,
             layers: list[int] | None = None) -> torch.Tensor:
    """CDC loss of G against the frozen G_T on latents ``ws``; detached (no gradient) when ``weight`` is 0."""
    with torch.no_grad():
        _, feats_t = G_T.synthesis(ws, noise_mode=NOISE_MODE, return_features=True)
    with torch.set_grad_enabled(weight > 0 and torch.is_grad_enabled()):
        _, feats_s = G.synthesis(ws, noise_mode=NOISE_MODE, return_features=True)
        return cdc_loss(feats_t, feats_s, layers)


def freeze_parts(G: Generator, D, freeze_g: list[int], freeze_d: int) -> None:
    """Mapping always frozen (shared W); listed synthesis blocks; D's fromRGB + first freeze_d-1 blocks."""
    G.mapping.requires_grad_(False)
    n = len(G.synthesis.blocks)
    bad = [b for b in freeze_g if not 0 <= b < n]
    if bad:
        raise GandistillError(f"--freeze-g {bad}: the generator has blocks 0…{n - 1}")
    for b in freeze_g:
        G.synthesis.blocks[b].requires_grad_(False)
    if freeze_d > 0:
        if freeze_d > len(D.blocks) + 1:
            raise GandistillError(f"--freeze-d {freeze_d}: the discriminator has {len(D.blocks) + 1} trunk layers")
        D.fromrgb.requires_grad_(False)
        for blk in D.blocks[:freeze_d - 1]:
            blk.requires_grad_(False)


@torch.no_grad()
def comparison_grid(G_T: Generator, G: Generator, ws: torch.Tensor, path: str | Path) -> None:
    """Top row G_T(w), bottom row G_target(w), for the same latents."""
    a = G_T.synthesis(ws, noise_mode=NOISE_MODE)
    b = G.synthesis(ws, noise_mode=NOISE_MODE)
    save_grid(torch.cat([a, b]), path, nrow=len(ws), scale=max(1, 128 // a.shape[-1]))


def adapt(cfg: AdaptConfig, dry_run: bool = False) -> Path:
    """Adapt (or resume adapting) a teacher to a few target images; returns the model directory."""
    if not cfg.teacher or not cfg.target:
        raise GandistillError("gpd adapt needs --teacher (source model directory) and --target (image folder)")
    device = resolve_device(cfg.device)
    out = Path(cfg.out)
    teacher = Teacher.from_pretrained(cfg.teacher)
    mcfg = teacher.config
    targets, names = load_targets(cfg.target, mcfg.resolution, mcfg.img_channels, cfg.max_targets)
    print(f"adapt: {len(names)} target image(s) from {cfg.target} → teacher {cfg.teacher} "
          f"({mcfg.img_channels}×{mcfg.resolution}²); CDC weight {cfg.cdc_weight}; device {device}")
    if dry_run:
        print(json.dumps(asdict(cfg), indent=2))
        return out / "model"

    torch.manual_seed(cfg.seed)
    G_T = teacher.G.to(device).eval().requires_grad_(False)
    G = copy.deepcopy(G_T).train().requires_grad_(True)
    D = copy.deepcopy(teacher.D).to(device).train().requires_grad_(True)
    freeze_parts(G, D, cfg.freeze_g, cfg.freeze_d)
    g_params = [p for p in G.parameters() if p.requires_grad]
    d_params = [p for p in D.parameters() if p.requires_grad]
    opt_g = adam(g_params, cfg.lr_g, cfg.beta2, 0)
    opt_d = adam(d_params, cfg.lr_d, cfg.beta2, cfg.r1_interval)
    aug = Augment(cfg.augment, cfg.diffaug_policy).to(device)
    r1_gamma = cfg.r1_gamma if cfg.r1_gamma is not None else 0.0002 * mcfg.resolution ** 2 / cfg.batch
    n_items = len(targets) * (2 if cfg.xflip else 1)
    sampler = InfiniteSampler(n_items, seed=cfg.seed)
    start = 0
    if cfg.resume:
        state, path = resume_state(cfg.resume, out, AdaptConfig, cfg, ("teacher", "freeze_g", "freeze_d"), device)
        for name, obj in (("G", G), ("D", D), ("opt_g", opt_g), ("opt_d", opt_d), ("aug", aug), ("sampler", sampler)):
            obj.load_state_dict(state[name])
        restore_rng(state)
        start = int(state["step"])
        print(f"resumed from {path} at step {start}")
    else:
        torch.manual_seed(cfg.seed * 7919 + 1)

    out.mkdir(parents=True, exist_ok=True)
    dump_json(cfg, out / "config.json")
    grid_ws = G_T.mapping(torch.randn(8, mcfg.z_dim, generator=torch.Generator().manual_seed(cfg.seed + 123))
                          .to(device))
    if start == 0:
        save_grid(targets, out / "samples" / "targets.png", scale=max(1, 64 // mcfg.resolution))
        comparison_grid(G_T, G, grid_ws, out / "samples" / "compare-00000000.png")
    targets_f = to_float(targets).to(device)

    def fetch_reals(n: int) -> torch.Tensor:
        idx = sampler.next(n)
        flip = (idx >= len(targets)).to(device).view(-1, 1, 1, 1)
        batch = targets_f[(idx % len(targets)).to(device)]
        return torch.where(flip, batch.flip(3), batch)

    def snapshot(step: int) -> None:
        snapshot_state(out, step, cfg, cfg.keep, G=G, D=D, opt_g=opt_g, opt_d=opt_d, aug=aug, sampler=sampler)
        with torch.random.fork_rng(devices=[]):
            model = Teacher.from_networks(G, D)
        model.save_pretrained(out / "model", parents={"teacher": teacher.source_hash},
                              extra={"gpd": "adapted", "teacher_dir": str(Path(cfg.teacher).resolve()),
                                     "step": step, "targets": names, "cdc_weight": cfg.cdc_weight})

    log = ScalarLog(out, start_step=start)
    bar = progress_bar(total=cfg.steps, initial=start, desc="gpd adapt", enabled=cfg.progress)
    step, t_last = start, time.perf_counter()
    with StopFlag() as stop:
        while step < cfg.steps:
            stats: dict[str, float] = {}
            # --- G: adversarial + CDC on the same latents (shared, frozen mapping) ---
            D.requires_grad_(False)
            opt_g.zero_grad(set_to_none=True)
            with torch.no_grad():
                ws = G_T.mapping(torch.randn(cfg.batch, mcfg.z_dim, device=device))
            fake, feats = G.synthesis(ws, noise_mode=NOISE_MODE, return_features=True)
            with torch.no_grad():
                _, feats_t = G_T.synthesis(ws, noise_mode=NOISE_MODE, return_features=True)
            loss_adv = g_nonsaturating(D(aug(fake)))
            loss_cdc = cdc_loss(feats_t, feats if cfg.cdc_weight > 0 else [f.detach() for f in feats],
                                cfg.cdc_layers)
            loss_g = loss_adv + cfg.cdc_weight * loss_cdc if cfg.cdc_weight > 0 else loss_adv
            loss_g.backward()
            opt_g.step()
            stats.update({"loss/G": float(loss_adv.detach()), "loss/cdc": float(loss_cdc.detach())})

            # --- D: logistic on augmented targets vs fakes, lazy R1 ---
            for p in d_params:
                p.requires_grad_(True)
            opt_d.zero_grad(set_to_none=True)
            real = fetch_reals(cfg.batch)
            with torch.no_grad():
                fake = G.synthesis(G_T.mapping(torch.randn(cfg.batch, mcfg.z_dim, device=device)),
                                   noise_mode=NOISE_MODE)
            real_logits, fake_logits = D(aug(real)), D(aug(fake))
            loss_d = d_logistic(real_logits, fake_logits)
            loss_d.backward()
            opt_d.step()
            stats.update({"loss/D": float(loss_d.detach()), "scores/real": float(real_logits.detach().mean()),
                          "scores/fake": float(fake_logits.detach().mean())})
            if cfg.r1_interval > 0 and r1_gamma > 0 and step % cfg.r1_interval == 0:
                opt_d.zero_grad(set_to_none=True)
                real = real.detach().requires_grad_(True)
                penalty = r1_penalty(real, D(aug(real)))
                (penalty * (r1_gamma / 2) * cfg.r1_interval).backward()
                opt_d.step()
                stats["loss/r1"] = float(penalty.detach())
            if not all(torch.isfinite(torch.tensor(v)) for v in stats.values()):
                raise GandistillError(f"adaptation diverged at step {step} ({stats}); lower --lr-g/--lr-d or raise "
                                      "--r1-gamma, then --resume from the last good state")
            step += 1
            now = time.perf_counter()
            stats["time/sec_per_step"], t_last = now - t_last, now
            if step % cfg.log_every == 0 or step == cfg.steps:
                log.write(step, step * cfg.batch, stats)
            bar.update(1)
            bar.set_postfix(G=f"{stats['loss/G']:.3f}", D=f"{stats['loss/D']:.3f}", cdc=f"{stats['loss/cdc']:.4f}")
            if cfg.grid_every and (step % cfg.grid_every == 0 or step == cfg.steps):
                comparison_grid(G_T, G, grid_ws, out / "samples" / f"compare-{step:08d}.png")
            if step % cfg.snap_every == 0 or step == cfg.steps or stop.requested:
                snapshot(step)
            if stop.requested:
                break
    bar.close()
    log.close()
    if not (out / "model").is_dir():
        snapshot(step)
    if step < cfg.steps:
        print(f"stopped at step {step}; continue with: gandistill gpd adapt --out {out} --resume latest")
    return out / "model"
