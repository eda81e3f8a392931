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
from dataclasses import asdict
from pathlib import Path

import torch

from ..data.sampler import InfiniteSampler
from ..errors import GandistillError
from ..teacher import Generator, Teacher
from ..teacher.augment import Augment
from ..teacher.loss import g_nonsaturating
from ..utils.dist import resolve_device
from ..utils.images import save_grid, save_labelled_grid, to_float
from ..utils.engine import d_step, run_loop
from ..utils.training import adam
from .cdc import cdc_loss
from .common import NOISE_MODE
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
    """Top row G_T(w), bottom row G_target(w), for the same latents (labelled)."""
    a = G_T.synthesis(ws, noise_mode=NOISE_MODE)
    b = G.synthesis(ws, noise_mode=NOISE_MODE)
    save_labelled_grid(torch.cat([a, b]), path, nrow=len(ws), row_labels=["G_T(w) source", "G_target(w) adapted"],
                       col_labels=[f"w{i}" for i in range(len(ws))], scale=max(1, 128 // a.shape[-1]))


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
    if not cfg.resume:
        torch.manual_seed(cfg.seed * 7919 + 1)

    grid_ws = G_T.mapping(torch.randn(8, mcfg.z_dim, generator=torch.Generator().manual_seed(cfg.seed + 123))
                          .to(device))
    if not cfg.resume:  # a resumed run already has its step-0 grids
        save_grid(targets, out / "samples" / "targets.png", scale=max(1, 64 // mcfg.resolution))
        comparison_grid(G_T, G, grid_ws, out / "samples" / "compare-00000000.png")
    targets_f = to_float(targets).to(device)

    def fetch_reals(n: int) -> torch.Tensor:
        idx = sampler.next(n)
        flip = (idx >= len(targets)).to(device).view(-1, 1, 1, 1)
        batch = targets_f[(idx % len(targets)).to(device)]
        return torch.where(flip, batch.flip(3), batch)

    def step_fn(step: int) -> dict[str, float]:
        # --- G: adversarial + CDC on the same latents (shared, frozen mapping) ---
        D.requires_grad_(False)
        opt_g.zero_grad(set_to_none=True)
        with torch.no_grad():
            ws = G_T.mapping(torch.randn(cfg.batch, mcfg.z_dim, device=device))
        fake, feats = G.synthesis(ws, noise_mode=NOISE_MODE, return_features=True)
        with torch.no_grad():
            _, feats_t = G_T.synthesis(ws, noise_mode=NOISE_MODE, return_features=True)
        loss_adv = g_nonsaturating(D(aug(fake)))
        loss_cdc = cdc_loss(feats_t, feats if cfg.cdc_weight > 0 else [f.detach() for f in feats], cfg.cdc_layers)
        loss_g = loss_adv + cfg.cdc_weight * loss_cdc if cfg.cdc_weight > 0 else loss_adv
        loss_g.backward()
        opt_g.step()
        stats = {"loss/G": float(loss_adv.detach()), "loss/cdc": float(loss_cdc.detach())}

        # --- D: logistic on augmented targets vs fakes, lazy R1 ---
        real = fetch_reals(cfg.batch)
        with torch.no_grad():
            fake = G.synthesis(G_T.mapping(torch.randn(cfg.batch, mcfg.z_dim, device=device)), noise_mode=NOISE_MODE)
        do_r1 = cfg.r1_interval > 0 and step % cfg.r1_interval == 0
        stats.update(d_step(D, opt_d, real, fake, None, r1_gamma, do_r1, cfg.r1_interval, augment=aug))
        if not all(torch.isfinite(torch.tensor(v)) for v in stats.values()):
            raise GandistillError(f"adaptation diverged at step {step} ({stats}); lower --lr-g/--lr-d or raise "
                                  "--r1-gamma, then --resume from the last good state")
        return stats

    def save_model(step: int) -> None:
        Teacher.from_networks(G, D).save_pretrained(
            out / "model", parents={"teacher": teacher.source_hash},
            extra={"gpd": "adapted", "teacher_dir": str(Path(cfg.teacher).resolve()), "step": step,
                   "targets": names, "cdc_weight": cfg.cdc_weight})

    def grid(step: int) -> None:
        comparison_grid(G_T, G, grid_ws, out / "samples" / f"compare-{step:08d}.png")

    state_objs = {"G": G, "D": D, "opt_g": opt_g, "opt_d": opt_d, "aug": aug, "sampler": sampler}
    run_loop(cfg, out, state_objs, step_fn, save_model, grid, "gpd adapt",
             arch_keys=("teacher", "freeze_g", "freeze_d"), resume_hint="gandistill gpd adapt",
             bar_keys=("loss/G", "loss/D", "loss/cdc"), device=device, model_dir=out / "model")
    return out / "model"
