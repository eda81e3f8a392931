"""GPD stage 3: train the end-to-end student translator (``gandistill gpd distill``).

    gandistill gpd distill --adapted runs/adapt/model --anchors runs/adapt/anchors.safetensors \
        --kd anchor --steps 1000 --out runs/student
    gandistill gpd distill --out runs/student --resume latest
    torchrun --nproc_per_node=2 -m gandistill.cli.main gpd distill --adapted ... --anchors ... --out runs/student

One step is a phase table of the shared engine (``gandistill.train``): the one discriminator phase
(PatchGAN: real pairs vs the student's outputs; none when w_adv = 0) → S phase (``train.terms.combine``
of the ``losses.KD_TERMS`` that ``--kd`` uses, weights ``w_<term>``). Real pairs are the anchors'
(x_a, y_a); generated pairs come from the seeded ``PairStream``; under ``torchrun`` each process draws
its share of both. The training state holds S, D, both optimisers, the real-pair sampler, the pair
stream's position and every process's RNG, so ``--resume`` continues exactly.
"""
from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Callable

import torch

from ..data.sampler import InfiniteSampler
from ..errors import CheckpointError, GandistillError
from ..options import option_values
from ..train import Phase, Round, d_phases, plan_batch, setup_processes, train_loop
from ..train.terms import combine, weights_of
from ..utils import dist
from ..utils.images import save_grid
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


def distill(cfg: GPDDistillConfig, dry_run: bool = False, on_finish: Callable[[dict], None] | None = None) -> Path:
    """Train (or resume) a GPD student; returns its model directory.

    Under ``torchrun`` every process trains a replica on its share of the real and generated pairs (rank 0
    writes). ``on_finish`` gets this process's training objects (networks, optimisers, samplers) at the end.
    """
    if not cfg.adapted or not cfg.anchors:
        raise GandistillError("gpd distill needs --adapted (gpd adapt model) and --anchors (gpd anchors file)")
    weights = weights_of(cfg, KD_MODES[cfg.kd])
    if not any(weights.values()):
        raise GandistillError(f"--kd {cfg.kd}: every weight of its terms is 0 "
                              f"({', '.join('--w-' + n.replace('_', '-') for n in weights)}); set one above 0")
    device, info = setup_processes(cfg.device)
    out = Path(cfg.out)
    inputs = {"--adapted": cfg.adapted, "--anchors": cfg.anchors, "--teacher": cfg.teacher}
    prepare_run_dir(out, cfg.resume, cfg.overwrite, clear=not dry_run and info.is_main,
                    inputs=inputs)  # before any work: never over a run
    _, rounds = plan_batch(cfg.batch, cfg.batch_gpu, info.world_size)
    gen_gpu = cfg.gen_batch // (info.world_size * rounds)  # generated pairs per process and round
    if cfg.kd != "none" and gen_gpu * info.world_size * rounds != cfg.gen_batch:
        raise GandistillError(f"--gen-batch {cfg.gen_batch} must be a multiple of {info.world_size} process(es) × "
                              f"{rounds} round(s) (--batch {cfg.batch} / --batch-gpu)")
    source, target = load_generators(cfg.adapted, cfg.teacher, device)
    anchors = Anchors.load(cfg.anchors, adapted=cfg.adapted)  # warns if made with other weights
    G_T, G_target = source.G, target.G
    if tuple(anchors.ws.shape[1:]) != (G_T.num_ws, G_T.w_dim):
        raise CheckpointError(f"{cfg.anchors} holds latents of shape {list(anchors.ws.shape[1:])}, the generators "
                              f"use [{G_T.num_ws}, {G_T.w_dim}]: it was made for another teacher")
    if anchors.mode == "target" and cfg.kd == "none":
        raise GandistillError(f"--kd none trains on real (photo, target) pairs only, and {cfg.anchors} comes from "
                              "target images alone (no photos): use --kd anchor (or direct)")
    res, ch = G_T.resolution, G_T.img_channels
    pairs = "real pairs" if anchors.mode == "paired" else "anchor pairs (G_T(w_a), real target)"
    say = print if info.is_main else (lambda *_: None)
    say(f"distill: kd={cfg.kd}, {len(anchors)} {pairs}, student {cfg.arch} at {res}², device {device}"
        + (f", {info.world_size} processes" if info.enabled else ""))
    if dry_run:
        say(json.dumps(asdict(cfg), indent=2))
        return out / "model"

    torch.manual_seed(cfg.seed)  # the same networks on every process
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
    sampler = InfiniteSampler(len(anchors), info.rank, info.world_size, seed=cfg.seed)
    stream = PairStream(G_T, G_target, aws, cfg, batch=max(gen_gpu, 1), rank=info.rank)
    tau = cfg.tau if cfg.tau is not None else auto_tau(stream, aws)
    say(f"φ = pixels + {phi_name}; τ = {tau:.4f}")

    grid_stream = PairStream(G_T, G_target, aws, replace(cfg, seed=cfg.seed + 777), batch=8)
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

    drawn: dict[tuple[int, int], tuple] = {}

    def pairs_of(r: Round) -> tuple[torch.Tensor, torch.Tensor, dict | None]:
        """This round's real pairs and generated pairs, drawn once and shared by the D and S phases."""
        if (r.step, r.index) not in drawn:
            for key in [k for k in drawn if k[0] != r.step]:  # an earlier step's draws
                del drawn[key]
            idx = sampler.next(r.size).to(device)
            drawn[r.step, r.index] = (ax[idx], ay[idx], stream.sample() if cfg.kd != "none" else None)
        return drawn[r.step, r.index]

    def fakes(r: Round) -> torch.Tensor:  # the student's translations, paired with their inputs
        x_r, _, gen = pairs_of(r)
        xs = torch.cat([x_r, gen["x"]]) if gen is not None and cfg.adv_generated else x_r
        return torch.cat([xs, S(xs)], 1)

    def s_main(r: Round) -> tuple[torch.Tensor, dict[str, float]]:  # weighted KD terms
        x_r, y_r, gen = pairs_of(r)
        stats: dict[str, float] = {}
        b = KDBatch(phi=phi, x_real=x_r, y_real=y_r, s_real=S(x_r), disc=D, adv_generated=cfg.adv_generated)
        if gen is not None:
            b.x_gen, b.y_gen, b.s_gen = gen["x"], gen["y"], S(gen["x"])
            to_anchors = latent_distance(gen["ws"], aws)
            b.omega = trust_weight(to_anchors, tau, cfg.omega_min) if cfg.kd == "anchor" else None
            if cfg.kd == "anchor":
                b.post = anchor_posterior(to_anchors, tau)
                b.s_anchor, b.anchor_y = anchor_ends()
                b.rel_weight = b.omega if cfg.rel_anchor == "corrected" else None
                stats["kd/omega_mean"] = float(b.omega.mean())
        total, terms = combine(KD_TERMS, b, weights, total_key="loss/S")
        return total, {**stats, **terms}

    # D (real pairs vs the student's outputs; none when w_adv = 0) → S
    phases = d_phases(D, opt_d, reals=lambda r: torch.cat(pairs_of(r)[:2], 1), fakes=fakes,
                      r1_gamma=0.0, r1_interval=0) if weights["adv"] > 0 else []
    phases.append(Phase("S", s_main, opt_s, label="student loss"))

    def average_buffers(step: int, stats: dict[str, float]) -> None:
        """BatchNorm statistics are per process: their mean over the processes keeps the replicas identical."""
        for buffer in (b for net in (S, D) for b in net.buffers() if b.is_floating_point()):
            buffer.copy_(dist.all_reduce_sum(buffer, info) / info.world_size)

    objs = {"S": S, "D": D, "opt_s": opt_s, "opt_d": opt_d, "sampler": sampler, "stream": stream}
    train_loop(cfg, phases, objs, save_model=save_model, desc=f"gpd distill ({cfg.kd})",
               resume_hint="gandistill gpd distill", device=device, info=info, grid=save_samples, seed=cfg.seed,
               after_step=average_buffers if info.enabled else None,
               inputs=inputs, arch_keys=("arch", "channels", "depth", "kd"), bar_keys=("loss/S", "loss/D"),
               model_dir=out / "model", diverged_hint="Lower --lr")
    if on_finish is not None:
        on_finish(objs)
    return out / "model"
