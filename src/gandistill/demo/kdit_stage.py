"""Demo KDIT stages: triplet preview, data-free I2I distillation, sketch → photo fine-tuning on a few
real pairs, and held-out translations before and after the fine-tuning."""
from __future__ import annotations

from pathlib import Path

import torch

from ..kdit.data import load_pairs
from ..kdit.distill import DistillConfig, distill
from ..kdit.finetune import FinetuneConfig, finetune
from ..kdit.i2i import I2IStudent
from ..kdit.triplets import TripletSampler, save_triplet_preview
from ..metrics import l1, ssim
from ..teacher import Generator
from ..utils.images import save_labelled_grid, to_uint8
from ..utils.logging import read_scalars
from ..utils.plot import plot_scalars
from .recipe import full_size
from .run import DemoRun, latest_grid


def run_kdit(run: DemoRun, teacher_dir: Path, teacher_fp: str, pairs_dir: Path) -> None:
    cfg, out = run.cfg, run.out
    batch = 2 if cfg.fast else 4
    common = dict(seed=cfg.seed, device=cfg.device, batch=batch, log_every=5)

    with run.stage("KDIT distillation"):
        G = Generator.from_pretrained(teacher_dir).eval()
        t = TripletSampler(G, seed=cfg.seed, batch=8).sample(8)
        save_triplet_preview(t.x1, t.x2, t.y, t.k, out / "triplets_preview.png", scale=3)
        dcfg = DistillConfig(out=str(out / "kdit-distill"), teacher=str(teacher_dir), student="i2i",
                             steps=cfg.kdit_steps, grid_every=max(1, cfg.kdit_steps // 2),
                             snap_every=max(1, cfg.kdit_steps // 2), **common)
        fp = run.train("kdit-distill", dcfg, distill, after=teacher_fp)
    distilled = Path(dcfg.out) / "model"
    k_lo, k_hi = t.k.min().item(), t.k.max().item()
    run.report.command("triplets", f"gandistill triplets --teacher {teacher_dir} --out {out / 'triplets'} --n 16",
                       full_size("triplets"))
    run.report.command("KDIT distillation", f"gandistill kdit distill --teacher {teacher_dir} --student i2i "
                       f"--out {dcfg.out} --steps {dcfg.steps} --batch {dcfg.batch}",
                       full_size("KDIT distillation"))

    with run.stage("KDIT fine-tuning"):
        fcfg = FinetuneConfig(out=str(out / "kdit-finetune"), modality="image", student=str(distilled),
                              data=str(pairs_dir), n_pairs=cfg.finetune_pairs, steps=cfg.finetune_steps,
                              grid_every=max(1, cfg.finetune_steps // 2), snap_every=max(1, cfg.finetune_steps // 2),
                              **common)
        run.train("kdit-finetune", fcfg, finetune, after=fp)
    tuned = Path(fcfg.out) / "model"
    run.report.command("KDIT fine-tuning", f"gandistill kdit finetune --modality image --student {distilled} "
                       f"--data {pairs_dir} --n-pairs {fcfg.n_pairs} --out {fcfg.out} --steps {fcfg.steps} "
                       f"--batch {fcfg.batch}",
                       full_size("KDIT fine-tuning"))

    with run.stage("KDIT evaluation"):
        res = I2IStudent.from_pretrained(tuned).resolution
        held = load_pairs(pairs_dir, "image", res, n=cfg.heldout_n, start=cfg.finetune_pairs)
        real = to_uint8(held.target)
        rows, table = [held.cond[:8], held.target[:8]], []
        for name, model_dir in (("distilled, before fine-tuning", distilled), ("after fine-tuning", tuned)):
            model = I2IStudent.from_pretrained(model_dir).eval()
            with torch.no_grad():  # appearance from the ground-truth photo, structure from the sketch
                fake = torch.cat([model(c, r) for c, r in zip(held.cond.split(16), held.target.split(16))])
            rows.append(fake[:8])
            u8 = to_uint8(fake)
            table.append([name, f"{float(ssim(u8, real).mean()):.3f}", f"{float(l1(u8, real).mean()):.4f}"])
        save_labelled_grid(rows, ["input sketch", "true photo", "distilled", "fine-tuned"], out / "kdit_heldout.png",
                           scale=3)
        latest_grid(Path(dcfg.out), "distill-*.png", out / "kdit_distill_samples.png")
        plot_scalars(read_scalars(dcfg.out), ["loss/l1", "loss/perceptual", "loss/latent", "loss/gen_kd"],
                     out / "kdit_distill_losses.png", title="KDIT distillation losses (smoothed)")
        plot_scalars(read_scalars(fcfg.out), ["loss/l1", "loss/perceptual", "loss/G_total"],
                     out / "kdit_finetune_losses.png", title="KDIT fine-tuning losses (smoothed)")
    run.report.command("translate", f"gandistill translate --model {tuned} --input {pairs_dir / 'sketch'} "
                       f"--reference {pairs_dir / 'photo' / '000000.png'} --output {out / 'kdit-translated'}",
                       full_size("KDIT translate"))
    run.report.section("KDIT: style-mixed triplets", [
        ("triplets_preview.png", f"triplets from the teacher, one per row as x1 | x2 | y: y takes ws[:k] from x1 "
                                 f"(pose, shape) and ws[k:] from x2 (colours), k drawn from {k_lo}–{k_hi}"),
    ])
    section = [("kdit_distill_samples.png", "after data-free distillation, on fixed triplets; rows: x1 (content), "
                                            "x2 (appearance), the teacher's mix y, the student's G_S(E_S(x1), "
                                            "E_R(x2), k)")] \
        if (out / "kdit_distill_samples.png").is_file() else []
    run.report.section("KDIT: distillation and fine-tuning", section + [
        ("kdit_distill_losses.png", "distillation losses"),
        ("kdit_finetune_losses.png", f"fine-tuning losses on {cfg.finetune_pairs} real sketch → photo pairs"),
    ])
    run.report.section("KDIT: held-out sketch → photo", [
        ("kdit_heldout.png", "rows: held-out input sketch, ground-truth photo (also the appearance reference), "
                             "the distilled student before fine-tuning, after fine-tuning"),
    ])
    run.report.table(f"KDIT on {len(held)} held-out pairs", ["student", "SSIM ↑", "L1 ↓"], table)
