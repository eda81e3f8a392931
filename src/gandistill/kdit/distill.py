"""Data-free distillation of a teacher into a KDIT student on style-mixed triplets (``kdit distill``).

    gandistill kdit distill --teacher runs/teacher/model --student i2i --out runs/kdit-i2i --steps 2000
    gandistill kdit distill --teacher runs/teacher/model --student x2i --out runs/kdit-x2i
    gandistill kdit distill --out runs/kdit-i2i --resume latest

I2I step: ŷ = G_S(E_S(x1), E_R(x2), k) vs y; X2I step: G_S(z, S_E(x1)) vs x1 and G_S(z, S_E(y)) vs y.
Then the discriminator (initialised from D_T; projection on c for X2I) sees the triplet targets as
real and the student outputs as fake, with lazy R1. Loss weights are the ``w_*`` options.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Literal

import torch

from ..options import field, field_like
from ..teacher.model import Teacher
from ..train import RunOptions, plan_batch, setup_processes, train_loop
from ..train.terms import weights_of
from ..utils import dist
from ..utils.images import save_grid
from ..utils.training import adam, prepare_run_dir
from .i2i import I2IStudent
from .losses import TERMS, KDITBatch
from .nets import DTrunk, ProjectionDiscriminator, TrunkPerceptual
from .phases import StudentRound, student_phases
from .triplets import Triplets, TripletSampler
from .x2i import X2IStudent

# options that define the student and its training state: --resume refuses to change them
ARCH_KEYS = ("student", "modality", "teacher", "student_dir", "from_scratch", "batch")


@dataclass
class KDITTrainOptions(RunOptions):
    """The optimiser, loss-weight and cadence options ``kdit distill`` and ``kdit finetune`` share."""

    lr: float = field(0.002, help="student learning rate (Adam)")
    lr_d: float = field(0.002, help="discriminator learning rate")
    beta2: float = field(0.99, help="Adam beta2 (beta1 = 0)")
    w_l1: float = field(1.0, help="image L1 weight")
    w_perceptual: float = field(1.0, help="perceptual (frozen D_T trunk) weight")
    w_adv: float = field(0.05, help="adversarial weight (0 disables the discriminator)")
    r1_gamma: float = field(0.1, help="R1 weight")
    r1_interval: int = field(16, help="lazy R1 interval")
    noise_mode: Literal["const", "random", "none"] = field("const", help="synthesis noise of teacher and student")
    grid_every: int = field_like(RunOptions, "grid_every", 250)
    snap_every: int = field_like(RunOptions, "snap_every", 500)


@dataclass
class DistillConfig(KDITTrainOptions):
    out: str = field("runs/kdit", help="run directory (config, checkpoints, samples, stats, model)")
    teacher: str = field("runs/teacher/model", help="teacher model directory (G and D)")
    student: Literal["i2i", "x2i"] = field("i2i", help="which student to distil")
    steps: int = field(2000, help="optimisation steps")
    batch: int = field(8, help="triplets per step, over all processes")
    batch_gpu: int | None = field(None, help="triplets per process and round (default: batch / processes); "
                                             "gradients accumulate over the rounds")
    k_range: list[int] | None = field(None, help="crossover range lo,hi (default num_ws/2,num_ws-2)")
    psi: float = field(1.0, help="truncation ψ of the triplet latents")
    w_latent: float = field(1.0, help="latent regression weight")
    w_gen_kd: float = field(1.0, help="generator feature KD weight")
    w_enc_kd: float = field(0.01, help="encoder feature KD weight (E_S/E_R vs D_T)")
    adaptor_res: list[int] | None = field(None, help="I2I: comma-separated resolutions with E_S→G_S adaptors "
                                                     "(default: all)")
    z_dim: int = field(16, help="X2I: size of the noise z_s")


def build_student(cfg: DistillConfig, teacher: Teacher):
    if cfg.student == "i2i":
        return I2IStudent.from_teacher(teacher, adaptor_res=cfg.adaptor_res)
    return X2IStudent.from_teacher(teacher, condition="image", z_dim=cfg.z_dim)


def distill_batch(student, t: Triplets, w: dict[str, float], perc, d_trunk, D,
                  noise_mode: str = "const") -> StudentRound:
    """Run the student on a triplet batch: the loss terms' inputs and the discriminator's fake/real/condition."""
    batch = KDITBatch(perceptual=perc)
    if isinstance(student, X2IStudent):
        n = t.x1.shape[0]
        real = torch.cat([t.x1, t.y])
        with torch.no_grad():
            c = student.S_E(real)
        z = torch.randn(n, student.config.z_dim, device=real.device).repeat(2, 1)
        fake, aux = student(None, z, noise_mode, c=c, return_aux=True)
        batch.pairs = [(fake, real)]
        batch.latents = [(aux["ws"], torch.cat([t.w1, t.ws_y]))]
        if w["gen_kd"] and t.feats_y is not None:
            batch.gen_feats = [(aux["gen_feats"], [torch.cat(p) for p in zip(t.feats_x1, t.feats_y)])]
    else:
        c, real = None, t.y
        fake, aux = student(t.x1, t.x2, t.k, noise_mode, return_aux=True)
        batch.pairs = [(fake, t.y)]
        batch.latents = [(aux["ws_s"], t.w1), (aux["ws_r"], t.w2)]
        if w["gen_kd"] and t.feats_y is not None:
            batch.gen_feats = [(aux["gen_feats"], t.feats_y)]
        if w["enc_kd"]:
            n = t.x1.shape[0]
            with torch.no_grad():
                ref = d_trunk(torch.cat([t.x1, t.x2]))
            batch.enc_feats = [(aux["feats_s"], {r: f[:n] for r, f in ref.items()}),
                               (aux["feats_r"], {r: f[n:] for r, f in ref.items()})]
    if w["adv"]:
        batch.fake_logits = [D(fake, c)]
    return StudentRound(batch, fake, real, c)


def distill(cfg: DistillConfig, dry_run: bool = False,
            on_finish: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """Distil (or resume); returns the student model directory ``<out>/model``.

    Under ``torchrun`` every process renders its own share of each triplet batch; ``on_finish`` is called on
    every process with its live networks (``student``, ``D``), the last ``step`` and its ``rank``.
    """
    device, info = setup_processes(cfg.device)
    out = Path(cfg.out)
    inputs = {"--teacher": cfg.teacher}
    # before any work: never a fresh run over an earlier one; only rank 0 deletes (with --overwrite)
    prepare_run_dir(out, cfg.resume, cfg.overwrite, clear=info.is_main and not dry_run, inputs=inputs)
    dist.barrier(info)
    batch_gpu, rounds = plan_batch(cfg.batch, cfg.batch_gpu, info.world_size)
    teacher = Teacher.from_pretrained(cfg.teacher).to(device).eval().requires_grad_(False)
    torch.manual_seed(cfg.seed)  # identical initial weights on every process
    student = build_student(cfg, teacher).to(device).train()
    sampler = TripletSampler(teacher.G, cfg.k_range, cfg.psi, cfg.seed, batch_gpu, cfg.noise_mode,
                             return_features=True, render_x2=cfg.student == "i2i", rank=info.rank,
                             world_size=info.world_size)
    if info.is_main:
        print(f"distilling {teacher.config.resolution}px teacher {cfg.teacher} into {type(student).__name__}: "
              f"{sum(p.numel() for p in student.parameters() if p.requires_grad) / 1e6:.2f} M trainable "
              f"parameters, crossover k ∈ {list(sampler.k_range)}, batch {cfg.batch} = {batch_gpu} × "
              f"{info.world_size} procs × {rounds} rounds, device {device}")
    if dry_run:
        if info.is_main:
            print(json.dumps(asdict(cfg), indent=2))
        return out / "model"

    w = weights_of(cfg, TERMS)
    is_x2i = isinstance(student, X2IStudent)
    D = ProjectionDiscriminator.from_teacher(teacher.D, student.c_dim if is_x2i else 0).to(device)
    D.requires_grad_(False)
    perc = TrunkPerceptual(teacher.D).to(device)
    d_trunk = DTrunk(teacher.config).to(device).requires_grad_(False)
    d_trunk.load_from_discriminator(teacher.D)
    opt_g = adam([p for p in student.parameters() if p.requires_grad], cfg.lr, cfg.beta2, 0)
    opt_d = adam(D.parameters(), cfg.lr_d, cfg.beta2, cfg.r1_interval)
    phases = student_phases(lambda r: distill_batch(student, sampler.sample(r.size), w, perc, d_trunk, D, cfg.noise_mode),
                            w, opt_g, D, opt_d, r1_gamma=cfg.r1_gamma, r1_interval=cfg.r1_interval,
                            condition_of=student.S_E if is_x2i else None)
    grid_t = TripletSampler(teacher.G, cfg.k_range, cfg.psi, cfg.seed + 999, 8, cfg.noise_mode).sample(8) \
        if info.is_main else None

    def save_model(step: int) -> None:
        student.save_pretrained(out / "model", parents={"teacher": teacher.source_hash},
                                extra={"step": step, "stage": "distill", "teacher_dir": str(cfg.teacher)})

    def grid(step: int) -> None:
        student.eval()
        if is_x2i:
            z = torch.randn(8, cfg.z_dim, generator=torch.Generator().manual_seed(0)).to(device)
            rows = [grid_t.x1, student(grid_t.x1, z), grid_t.y, student(grid_t.y, z)]
        else:
            rows = [grid_t.x1, grid_t.x2, grid_t.y, student(grid_t.x1, grid_t.x2, grid_t.k)]
        student.train()
        save_grid(torch.cat(rows), out / "samples" / f"distill-{step:08d}.png", nrow=8)

    objs = {"student": student, "D": D, "opt_g": opt_g, "opt_d": opt_d, "sampler": sampler}
    step = train_loop(cfg, phases, objs, save_model=save_model, desc=f"kdit distill {cfg.student}",
                      resume_hint="gandistill kdit distill", device=device, info=info, grid=grid,
                      arch_keys=ARCH_KEYS, bar_keys=("loss/G_total", "loss/D"), seed=cfg.seed, inputs=inputs)
    if on_finish is not None:
        on_finish({"student": student, "D": D, "step": step, "rank": info.rank})
    return out / "model"
