"""GPD stage 3: train the end-to-end student translator (``gandistill gpd distill``).

    gandistill gpd distill --adapted runs/adapt/model --anchors runs/adapt/anchors.safetensors \
        --kd anchor --steps 1000 --out runs/student
    gandistill gpd distill --out runs/student --resume latest

One step = D phase (PatchGAN: real pairs vs the student's outputs; skipped when w_adv = 0) → S phase
(``train.terms.combine`` of the ``losses.KD_TERMS`` that ``--kd`` uses, weights ``w_<term>``). Real pairs
are the anchors' (x_a, y_a); generated pairs come from the seeded ``PairStream``. The training state holds S, D, both optimisers, the real-pair
sampler, the pair stream's generator and the RNG, so ``--resume`` continues exactly.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import torch

from ..data.sampler import InfiniteSampler
from ..errors import CheckpointError, GandistillError
from ..options import option_values
from ..teacher.loss import d_logistic
from ..utils.dist import resolve_device
from ..utils.images import save_grid
from ..utils.engine import run_loop
from ..train.terms import combine, weights_of
from ..utils.training import prepare_run_dir
from .anchor_projection import Anchors, load_generators
from .config import GPDDistillConfig
from .common import NOISE_MODE
from .losses import KD_MODES, KD_TERMS, KDBatch, anchor_posterior, latent_distance, pixels_and, trust_weight
from .networks import TRANSLATORS, PatchDiscriminator, PatchGANConfig, TranslatorConfig, TranslatorShape
from .pairs import PairStream
from .project import dfeat_features, lpips_available


def feature_extractor(kind: str, D, device):
    """φ for the KD terms: LPIPS trunk features when available (auto/lpips), else the frozen D trunk."""
    if kind in ("auto", "lpips") and lpips_available():
        from ..metrics.lpips import _unit, load_lpips

        net = load_lpips("alex", device=device)

        def phi(img: torch.Tensor) -> list[torch.Tensor]:
            img = img.repeat(1, 3, 1, 1) if img.shape[1] == 1 else img
            return [_unit(f) for f in net.trunk((img - net.shift) / net.scale)]
        return phi, "lpips-alex"
    if kind == "lpips":
        raise GandistillError("--phi lpips: LPIPS weights are not on disk; use --phi dfeat")
    return dfeat_features(D), "dfeat"


def auto_tau(stream: PairStream, anchor_ws: torch.Tensor, n: int = 256, seed: int = 4321) -> float:
    """Half the median distance from a free latent to its nearest anchor (deterministic)."""
    G = stream.G_T
    z = torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed)).to(stream.device)
    with torch.no_grad():
        ws = G.mapping(z, psi=stream.cfg.psi)
    return 0.5 * float(latent_distance(ws, anchor_ws.to(ws.device)).min(1).values.median())


def build_student(cfg: GPDDistillConfig, channels: int, resolution: int):
    tcfg = TranslatorConfig(in_channels=channels, out_channels=channels, resolution=resolution,
                            **option_values(TranslatorShape, cfg))
    S = TRANSLATORS[cfg.arch](tcfg)
    if resolution % S.multiple:
        raise GandistillError(f"--depth {cfg.depth} needs images divisible by {S.multiple}, the teacher makes "
                              f"{resolution}²; lower --depth")
    if cfg.arch == "unet" and cfg.norm == "instance" and resolution // S.multiple < 2:
        # instance norm needs more than one position in the innermost U-Net level
        raise GandistillError(f"--depth {cfg.depth} leaves 1×1 features at {resolution}² with instance norm; use "
                              f"--depth {cfg.depth - 1} or lower")
    D = PatchDiscriminator(PatchGANConfig(in_channels=2 * channels, channels=cfg.d_channels, layers=cfg.d_layers,
                                          norm=cfg.norm))
    return S, D


def distill(cfg: GPDDistillConfig, dry_run: bool = False) -> Path:
    """Train (or resume) a GPD student; returns its model directory."""
    if not cfg.adapted or not cfg.anchors:
        raise GandistillError("gpd distill needs --adapted (gpd adapt model) and --anchors (gpd anchors file)")
    weights = weights_of(cfg, KD_MODES[cfg.kd])
    if not any(weights.values()):
        raise GandistillError(f"--kd {cfg.kd}: every weight of its terms is 0 "
                              f"({', '.join('--w-' + n.replace('_', '-') for n in weights)}); set one above 0")
    device = resolve_device(cfg.device)
    out = Path(cfg.out)
    prepare_run_dir(out, cfg.resume, cfg.overwrite, clear=not dry_run,
                    inputs={"--adapted": cfg.adapted, "--anchors": cfg.anchors, "--teacher": cfg.teacher})  # before any work: never over a run
    source, target = load_generators(cfg.adapted, cfg.teacher, device)
    anchors = Anchors.load(cfg.anchors)
    G_T, G_target = source.G, target.G
    if tuple(anchors.ws.shape[1:]) != (G_T.num_ws, G_T.w_dim):
        raise CheckpointError(f"{cfg.anchors} holds latents of shape {list(anchors.ws.shape[1:])}, the generators "
                              f"use [{G_T.num_ws}, {G_T.w_dim}]: it was made for another teacher")
    if anchors.mode == "target" and cfg.kd == "none":
        raise GandistillError(f"--kd none trains on real (photo, target) pairs only, and {cfg.anchors} comes from "
                              "target images alone (no photos): use --kd anchor (or direct)")
    res, ch = G_T.resolution, G_T.img_channels
    pairs = "real pairs" if anchors.mode == "paired" else "anchor pairs (G_T(w_a), real target)"
    print(f"distill: kd={cfg.kd}, {len(anchors)} {pairs}, student {cfg.arch} at {res}², device {device}")
    if dry_run:
        print(json.dumps(asdict(cfg), indent=2))
        return out / "model"

    torch.manual_seed(cfg.seed)
    S, D = build_student(cfg, ch, res)
    S, D = S.to(device).train(), D.to(device).train()
    opt_s = torch.optim.Adam(S.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
    phi_net, phi_name = feature_extractor(cfg.phi, target.D, device)
    phi = pixels_and(phi_net)
    ax, ay, aws = anchors.x.to(device), anchors.y.to(device), anchors.ws.to(device)
    with torch.no_grad():  # the teacher's own pair at each anchor latent
        twin_x = G_T.synthesis(aws, noise_mode=NOISE_MODE)
        twin_y = G_target.synthesis(aws, noise_mode=NOISE_MODE)

    def anchor_ends() -> tuple[torch.Tensor, torch.Tensor]:
        """(s_a, t_a) of the anchor-relative term for --rel-anchor (see gpd/losses.py)."""
        if cfg.rel_anchor == "corrected":
            return ay, twin_y
        if cfg.rel_anchor == "twin":
            return S(twin_x), twin_y
        return S(ax), ay
    sampler = InfiniteSampler(len(anchors), seed=cfg.seed)
    stream = PairStream(G_T, G_target, aws, cfg, batch=cfg.gen_batch)
    tau = cfg.tau if cfg.tau is not None else auto_tau(stream, aws)
    print(f"φ = pixels + {phi_name}; τ = {tau:.4f}")

    grid_stream = PairStream(G_T, G_target, aws, cfg, batch=8)
    grid_stream.gen.manual_seed(cfg.seed + 777)
    grid_gen = grid_stream.sample()
    grid_x = torch.cat([ax[:8], grid_gen["x"]])
    grid_y = torch.cat([ay[:8], grid_gen["y"]])

    def save_samples(step: int) -> None:
        S.eval()
        pred = S(grid_x)
        S.train()
        save_grid(torch.cat([grid_x, pred, grid_y]), out / "samples" / f"student-{step:08d}.png", nrow=len(grid_x),
                  scale=max(1, 64 // res))

    def save_model(step: int) -> None:
        S.save_pretrained(out / "model", parents={"teacher": source.source_hash, "adapted": target.source_hash},
                          extra={"gpd": "student", "kd": cfg.kd, "step": step, "phi": phi_name, "tau": tau,
                                 "anchors": str(Path(cfg.anchors).resolve()),
                                 "adapted_dir": str(Path(cfg.adapted).resolve())})


    def step_fn(step: int) -> dict[str, float]:
        stats: dict[str, float] = {}
        idx = sampler.next(cfg.batch).to(device)
        x_r, y_r = ax[idx], ay[idx]
        gen = stream.sample() if cfg.kd != "none" else None
        # --- D: real pairs vs the student's outputs ---
        if weights["adv"] > 0:
            D.requires_grad_(True)
            opt_d.zero_grad(set_to_none=True)
            with torch.no_grad():
                xs = torch.cat([x_r, gen["x"]]) if gen is not None and cfg.adv_generated else x_r
                fake = torch.cat([xs, S(xs)], 1)
            loss_d = d_logistic(D(torch.cat([x_r, y_r], 1)), D(fake))
            loss_d.backward()
            opt_d.step()
            D.requires_grad_(False)
            stats["loss/D"] = float(loss_d.detach())
        # --- S: weighted KD terms ---
        opt_s.zero_grad(set_to_none=True)
        b = KDBatch(phi=phi, x_real=x_r, y_real=y_r, s_real=S(x_r), disc=D, adv_generated=cfg.adv_generated)
        if gen is not None:
            b.x_gen, b.y_gen, b.s_gen = gen["x"], gen["y"], S(gen["x"])
            dist = latent_distance(gen["ws"], aws)
            b.omega = trust_weight(dist, tau, cfg.omega_min) if cfg.kd == "anchor" else None
            if cfg.kd == "anchor":
                b.post = anchor_posterior(dist, tau)
                b.s_anchor, b.anchor_y = anchor_ends()
                b.rel_weight = b.omega if cfg.rel_anchor == "corrected" else None
                stats["kd/omega_mean"] = float(b.omega.mean())
        total, terms = combine(KD_TERMS, b, weights, total_key="loss/S")
        total.backward()
        opt_s.step()
        stats.update(terms)
        return stats  # run_loop stops on any non-finite value, naming the last good state

    state_objs = {"S": S, "D": D, "opt_s": opt_s, "opt_d": opt_d, "sampler": sampler, "stream": stream}
    run_loop(cfg, out, state_objs, step_fn, save_model, save_samples, f"gpd distill ({cfg.kd})",
             arch_keys=("arch", "channels", "depth", "kd"), resume_hint="gandistill gpd distill", bar_keys=("loss/S",),
             diverged_hint="Lower --lr",
             device=device, model_dir=out / "model")
    return out / "model"
