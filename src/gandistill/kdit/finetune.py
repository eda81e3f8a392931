"""Limited-data fine-tuning of a distilled KDIT student on real pairs (``kdit finetune``).

    gandistill kdit finetune --modality image --student runs/kdit-i2i/model --data data/toyfaces --n-pairs 50
    gandistill kdit finetune --modality seg   --student runs/kdit-i2i/model --data data/toyfaces
    gandistill kdit finetune --modality text  --student runs/kdit-x2i/model --data data/toyfaces
    gandistill kdit finetune --modality audio --student runs/kdit-x2i/model --data data/toyfaces --from-scratch

image / seg use the I2I student (seg: E_S's first layer takes the one-hot map, new and random;
the appearance comes from E_R of the target photo during training — self-reference — or from
noise with ``--reference noise``); text / audio use the X2I student with a new f_X (MiniLM
embedding, centred on the training captions → MLP, or log-mel → CNN) trained with
‖f_X(X) − S_E(image)‖², while the image losses fine-tune the mapping and synthesis on the target's own
code S_E(image) (teacher forcing: image losses through f_X collapsed every condition to the mean code,
see docs/kdit.md). ``--from-scratch`` builds the same architecture with random weights (the baseline); the
losses, the perceptual extractor (frozen D_T trunk) and the schedule are the same for both.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Literal

import torch

from ..errors import CheckpointError, GandistillError
from ..io.pretrained import read_model_config, recorded_parent_dir
from ..options import field
from ..teacher.model import Teacher
from ..train import Round, plan_batch, setup_processes, train_loop
from ..train.terms import weights_of
from ..utils import dist
from ..utils.images import save_grid
from ..utils.training import adam, prepare_run_dir
from .data import PairSet, load_pairs
from .distill import ARCH_KEYS, KDITTrainOptions
from .i2i import I2IStudent
from .losses import TERMS, KDITBatch
from .nets import ProjectionDiscriminator, TrunkPerceptual
from .phases import StudentRound, student_phases
from .x2i import X2IStudent


@dataclass
class FinetuneConfig(KDITTrainOptions):
    out: str = field("runs/kdit-finetune", help="run directory")
    modality: Literal["image", "seg", "text", "audio"] = field("image", help="condition modality")
    student: str = field("runs/kdit/model", help="distilled student directory (I2I for image/seg, X2I for "
                         "text/audio); with --from-scratch only its architecture is used")
    teacher: str | None = field(None, help="teacher directory (default: the one recorded in the student)")
    data: str = field("data/toyfaces", help="dataset folder with metadata.jsonl (DESIGN §3)")
    n_pairs: int | None = field(None, help="use the first N pairs (limited-data runs; default: all)")
    data_start: int = field(0, help="index of the first pair used")
    input_domain: str = field("sketch", help="image modality: input images are <domain>_file_name")
    num_classes: int = field(8, help="seg modality: number of label classes")
    reference: Literal["target", "noise"] = field("target", help="I2I appearance during training: E_R of the "
                                                  "target photo, or the teacher mapping of noise")
    from_scratch: bool = field(False, help="same architecture, random initialisation (baseline)")
    steps: int = field(1000, help="optimisation steps")
    batch: int = field(8, help="pairs per step, over all processes")
    batch_gpu: int | None = field(None, help="pairs per process and round (default: batch / processes); "
                                             "gradients accumulate over the rounds")
    w_cond: float = field(1.0, help="text/audio: ‖f_X(X) − S_E(image)‖² weight")


def check_student_dir(cfg: FinetuneConfig) -> str:
    """The student class ``--modality`` needs, after checking ``--student`` holds one (a teacher or another
    class gets a message saying what it is and what to pass)."""
    meta = read_model_config(cfg.student)
    want = "I2IStudent" if cfg.modality in ("image", "seg") else "X2IStudent"
    if meta.get("class") in ("Teacher", "Generator"):
        kind = "i2i" if want == "I2IStudent" else "x2i"
        raise CheckpointError(f"--student {cfg.student} is a teacher ({meta.get('class')}), not a distilled student; "
                              f"distil one first (`gandistill kdit distill --teacher {cfg.student} --student {kind} "
                              f"--out runs/kdit-{kind}`) and pass --student runs/kdit-{kind}/model (the teacher is "
                              "found from it, or given with --teacher)")
    if meta.get("class") != want:
        raise CheckpointError(f"--modality {cfg.modality} fine-tunes an {want}, but {cfg.student} holds a "
                              f"{meta.get('class')}; distil one with `gandistill kdit distill --student "
                              f"{'i2i' if want == 'I2IStudent' else 'x2i'}`")
    return want


def build_finetune_student(cfg: FinetuneConfig):
    """The student to fine-tune: the distilled one adapted to the modality, or a random twin."""
    want = check_student_dir(cfg)
    base = (I2IStudent if want == "I2IStudent" else X2IStudent).from_pretrained(cfg.student)
    if want == "I2IStudent":
        arch = dict(input="seg", num_classes=cfg.num_classes) if cfg.modality == "seg" else {}
        new = I2IStudent(type(base.config)(**{**asdict(base.config), **arch, "teacher": base.config.teacher}))
    else:
        new = X2IStudent(type(base.config)(**{**asdict(base.config), "condition": cfg.modality,
                                              "teacher": base.config.teacher}))
    if not cfg.from_scratch:
        own = new.state_dict()
        shared = {k: v for k, v in base.state_dict().items() if k in own and own[k].shape == v.shape}
        new.load_state_dict(shared, strict=False)
    return new, base.source_hash


def finetune_batch(student, cond, target: torch.Tensor, w: dict[str, float], perc, D, reference: str = "target",
                   noise_mode: str = "const") -> StudentRound:
    """One fine-tuning forward pass: the loss terms' inputs and the discriminator's fake/real/condition."""
    batch = KDITBatch(perceptual=perc)
    c_d = None
    if isinstance(student, I2IStudent):
        fake = student(cond, target if reference == "target" else None, noise_mode=noise_mode)
    else:
        c_pred = student.encode(cond)
        with torch.no_grad():
            c_d = student.S_E(target)
        batch.conds = [(c_pred, c_d)]
        z = torch.randn(target.shape[0], student.config.z_dim, device=target.device)
        # teacher forcing: the image losses see the target's own code, f_X learns only by regression onto it —
        # through c_pred, L1 to one of many plausible images pulls every condition to the mean code
        fake = student(None, z, noise_mode, c=c_d)
    batch.pairs = [(fake, target)]
    if w["adv"]:
        batch.fake_logits = [D(fake, c_d)]
    return StudentRound(batch, fake, target, c_d)


def prepare_pairs(cfg: FinetuneConfig, resolution: int, device, start: int | None = None, n: int | None = None,
                  embedder=None, channels: int = 3) -> tuple[PairSet, torch.Tensor]:
    """(PairSet, condition tensor on ``device``); captions are embedded with MiniLM; images are loaded with
    ``channels`` (the teacher's: 1 for a grey teacher)."""
    pairs = load_pairs(cfg.data, cfg.modality, resolution, n if n is not None else cfg.n_pairs,
                       cfg.data_start if start is None else start, cfg.input_domain, cfg.num_classes,
                       channels=channels)
    cond = pairs.cond
    if cfg.modality == "text":
        from .text import SentenceEmbedder

        cond = (embedder or SentenceEmbedder.load()).encode(cond)
    return pairs, cond.to(device)


def finetune(cfg: FinetuneConfig, dry_run: bool = False, embedder=None,
             on_finish: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """Fine-tune (or resume); returns the model directory ``<out>/model``.

    Under ``torchrun`` every process draws its own pairs (with replacement, from its own seed); ``on_finish``
    is called on every process with its live networks (``student``, ``D``), the last ``step`` and its ``rank``.
    """
    device, info = setup_processes(cfg.device)
    out = Path(cfg.out)
    if cfg.modality == "seg" and not 2 <= cfg.num_classes <= 256:
        raise GandistillError(f"--num-classes {cfg.num_classes}: label maps are 8-bit PNGs, so a seg model has "
                              "2 to 256 classes; pass the number of labels in your maps")
    inputs = {"--student": cfg.student, "--teacher": cfg.teacher, "--data": cfg.data}
    # before any work: never a fresh run over an earlier one; only rank 0 deletes (with --overwrite)
    prepare_run_dir(out, cfg.resume, cfg.overwrite, clear=info.is_main and not dry_run, inputs=inputs)
    dist.barrier(info)
    batch_gpu, rounds = plan_batch(cfg.batch, cfg.batch_gpu, info.world_size)
    check_student_dir(cfg)  # before looking for its teacher: a teacher dir passed as --student is named as such
    teacher_dir = recorded_parent_dir(cfg.student, cfg.teacher, "teacher")
    teacher = Teacher.from_pretrained(teacher_dir).to(device).eval().requires_grad_(False)
    torch.manual_seed(cfg.seed)  # identical initial weights on every process
    student, parent_hash = build_finetune_student(cfg)
    student = student.to(device).train()
    pairs, cond = prepare_pairs(cfg, student.resolution, device, embedder=embedder,
                                channels=student.config.teacher.img_channels)
    target = pairs.target.to(device)
    if cfg.modality == "text":
        student.f_X.set_statistics(cond)
    if info.is_main:
        print(f"fine-tuning {type(student).__name__} ({'random init' if cfg.from_scratch else 'distilled'}) on "
              f"{len(pairs)} {cfg.modality}→image pairs from {cfg.data}; batch {cfg.batch} = {batch_gpu} × "
              f"{info.world_size} procs × {rounds} rounds, device {device}")
    if dry_run:
        if info.is_main:
            print(json.dumps(asdict(cfg), indent=2))
        return out / "model"

    w = weights_of(cfg, TERMS)
    is_x2i = isinstance(student, X2IStudent)
    c_dim = student.c_dim if is_x2i else 0
    D = ProjectionDiscriminator(teacher.config, c_dim) if cfg.from_scratch else \
        ProjectionDiscriminator.from_teacher(teacher.D, c_dim)
    D = D.to(device).requires_grad_(False)
    perc = TrunkPerceptual(teacher.D).to(device)
    opt_g = adam([p for p in student.parameters() if p.requires_grad], cfg.lr, cfg.beta2, 0)
    opt_d = adam(D.parameters(), cfg.lr_d, cfg.beta2, cfg.r1_interval)
    n = len(pairs)

    def make_round(r: Round) -> StudentRound:
        idx = torch.randint(n, (min(r.size, n),)).to(device)  # this process's pairs of the step
        return finetune_batch(student, cond[idx], target[idx], w, perc, D, cfg.reference, cfg.noise_mode)

    phases = student_phases(make_round, w, opt_g, D, opt_d, r1_gamma=cfg.r1_gamma, r1_interval=cfg.r1_interval,
                            condition_of=student.S_E if is_x2i else None)

    def save_model(step: int) -> None:
        student.save_pretrained(out / "model", parents={"teacher": teacher.source_hash, "student": parent_hash},
                                extra={"step": step, "stage": "finetune", "modality": cfg.modality,
                                       "from_scratch": cfg.from_scratch, "teacher_dir": str(teacher_dir),
                                       "input_domain": cfg.input_domain})

    def grid(step: int) -> None:
        student.eval()
        m = min(8, n)
        torch.manual_seed(0)
        if isinstance(student, I2IStudent):
            fake = student(cond[:m], target[:m] if cfg.reference == "target" else None, noise_mode=cfg.noise_mode)
        else:
            fake = student(cond[:m], noise_mode=cfg.noise_mode)
        student.train()
        rows = ([cond[:m]] if cfg.modality == "image" else []) + [target[:m], fake]
        save_grid(torch.cat(rows), out / "samples" / f"finetune-{step:08d}.png", nrow=m)

    objs = {"student": student, "D": D, "opt_g": opt_g, "opt_d": opt_d}
    step = train_loop(cfg, phases, objs, save_model=save_model, desc=f"kdit finetune {cfg.modality}",
                      resume_hint="gandistill kdit finetune", device=device, info=info, grid=grid,
                      arch_keys=ARCH_KEYS, bar_keys=("loss/G_total", "loss/D"), seed=cfg.seed, inputs=inputs)
    if on_finish is not None:
        on_finish({"student": student, "D": D, "step": step, "rank": info.rank})
    return out / "model"
