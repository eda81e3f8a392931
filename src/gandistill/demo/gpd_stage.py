"""Demo GPD stages: adapt the teacher to 10 (photo, sketch) pairs, anchors from the 10 real pairs,
anchor-based distillation into a U-Net, and held-out photo → sketch translations."""
from __future__ import annotations

import shutil
from dataclasses import asdict, replace
from pathlib import Path

from ..gpd import AdaptConfig, AnchorsConfig, GPDDistillConfig, adapt, compute_anchors, distill
from ..gpd.translate import translate_gpd
from ..metrics import l1, ssim
from ..utils.images import save_labelled_grid
from ..utils.logging import read_scalars
from ..utils.plot import plot_scalars
from .recipe import full_size
from .run import DemoRun, latest_grid, read_uint8

N_SHOTS = 10


def _copy_pairs(pairs_dir: Path, dest: Path, names: list[str]) -> None:
    """A/ photos and B/ sketches with matching stems (the paired layout ``gpd anchors`` reads)."""
    for side, domain in (("A", "photo"), ("B", "sketch")):
        (dest / side).mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copyfile(pairs_dir / domain / name, dest / side / name)


def verdict(anchor: tuple[float, float], none: tuple[float, float]) -> str:
    """One line from (SSIM, L1) of the anchor-KD student and the real-pairs-only student."""
    better = [name for name, ok in (("SSIM", anchor[0] > none[0]), ("L1", anchor[1] < none[1])) if ok]
    if len(better) == 2:
        return "Anchor KD beats the real-pairs-only student (--kd none) on SSIM and L1."
    if not better:
        return "Anchor KD does not beat the real-pairs-only student (--kd none): worse or equal on SSIM and L1."
    other = "L1" if better == ["SSIM"] else "SSIM"
    return f"Anchor KD beats the real-pairs-only student (--kd none) on {better[0]} but not on {other}."


def run_gpd(run: DemoRun, teacher_dir: Path, teacher_fp: str, pairs_dir: Path) -> None:
    cfg, out = run.cfg, run.out
    names = sorted(p.name for p in (pairs_dir / "photo").glob("*.png"))
    shots, test = out / "gpd-data" / "shots", out / "gpd-data" / "test"
    _copy_pairs(pairs_dir, shots, names[:N_SHOTS])
    _copy_pairs(pairs_dir, test, names[cfg.finetune_pairs:cfg.finetune_pairs + cfg.heldout_n])

    with run.stage("GPD adaptation"):
        # the shots are pairs (A/ photos, B/ sketches): the adaptation's paired term uses them
        acfg = AdaptConfig(out=str(out / "gpd-adapt"), teacher=str(teacher_dir), target=str(shots),
                           pair_proj_steps=cfg.proj_steps, steps=cfg.adapt_steps,
                           grid_every=max(1, cfg.adapt_steps // 2), snap_every=max(1, cfg.adapt_steps // 2),
                           seed=cfg.seed, device=cfg.device, log_every=5)
        fp = run.train("gpd-adapt", acfg, adapt, after=teacher_fp)
    adapted = Path(acfg.out) / "model"
    run.report.command("GPD adaptation", f"gandistill gpd adapt --teacher {teacher_dir} --target {shots} "
                       f"--pair-proj-steps {acfg.pair_proj_steps} --out {acfg.out} --steps {acfg.steps}",
                       full_size("GPD adaptation"))

    with run.stage("GPD anchors"):
        anchors = out / "gpd-adapt" / "anchors.safetensors"
        ncfg = AnchorsConfig(adapted=str(adapted), data=str(shots), steps=cfg.proj_steps, out=str(anchors),
                             device=cfg.device)
        settings = {**asdict(ncfg), "after": fp}
        if not run.is_done("gpd-anchors", settings):
            compute_anchors(ncfg)
        fp = run.mark_done("gpd-anchors", settings)
    run.report.command("GPD anchors", f"gandistill gpd anchors --adapted {adapted} --data {shots} "
                       f"--steps {ncfg.steps} --out {anchors}",
                       full_size("GPD anchors"))

    with run.stage("GPD distillation"):
        scfg = GPDDistillConfig(out=str(out / "gpd-student"), adapted=str(adapted), anchors=str(anchors), kd="anchor",
                             depth=min(4, cfg.resolution.bit_length() - 2), steps=cfg.gpd_steps, grid_every=max(1, cfg.gpd_steps // 2),
                             snap_every=max(1, cfg.gpd_steps // 2), seed=cfg.seed, device=cfg.device, log_every=5)
        # the baseline the anchor KD must beat: the same student on the 10 real pairs only, same steps
        ncfg_none = replace(scfg, out=str(out / "gpd-student-none"), kd="none")
        run.train("gpd-distill", scfg, distill, after=fp)
        run.train("gpd-distill-none", ncfg_none, distill, after=fp)
    student = Path(scfg.out) / "model"
    run.report.command("GPD distillation", f"gandistill gpd distill --adapted {adapted} --anchors {anchors} "
                       f"--kd anchor --out {scfg.out} --steps {scfg.steps}",
                       full_size("GPD distillation"))

    with run.stage("GPD translation"):
        written = translate_gpd(student, test / "A", out / "gpd-translated", device=cfg.device)
        written_none = translate_gpd(Path(ncfg_none.out) / "model", test / "A", out / "gpd-translated-none",
                                     device=cfg.device)
        photos = read_uint8(sorted((test / "A").glob("*.png")))
        truth = read_uint8(sorted((test / "B").glob("*.png")))
        fake, fake_none = read_uint8(sorted(written)), read_uint8(sorted(written_none))
        save_labelled_grid([photos[:8], truth[:8], fake_none[:8], fake[:8]],
                           ["input photo", "true sketch", "--kd none", "anchor KD"], out / "gpd_heldout.png", scale=3)
        scores = {name: (float(ssim(f, truth).mean()), float(l1(f, truth).mean()))
                  for name, f in (("none", fake_none), ("anchor", fake))}
        table = [["GPD student, real pairs only (--kd none)", f"{scores['none'][0]:.3f}", f"{scores['none'][1]:.4f}"],
                 ["GPD student (anchor KD)", f"{scores['anchor'][0]:.3f}", f"{scores['anchor'][1]:.4f}"]]
        latest_grid(Path(acfg.out), "compare-*.png", out / "gpd_adapt_compare.png")
        shutil.copyfile(anchors.with_suffix(".png"), out / "gpd_anchors.png")
        plot_scalars(read_scalars(acfg.out), ["loss/adv", "loss/D", "loss/cdc"], out / "gpd_adapt_losses.png",
                     title="GPD adaptation losses (smoothed)")
        plot_scalars(read_scalars(scfg.out), ["loss/l1", "loss/direct", "loss/rel", "loss/S"],
                     out / "gpd_distill_losses.png", title="GPD student losses (smoothed)")
    run.report.command("translate", f"gandistill translate --model {student} --input {test / 'A'} "
                       f"--output {out / 'gpd-translated'}",
                       full_size("GPD translate"))
    measured = [r for r in read_scalars(acfg.out) if "adapt/diversity" in r]
    if measured:
        m = measured[-1]
        run.report.table(f"GPD adaptation measures (step {m['step']}, fixed latents)", ["measure", "value"], [
            ["diversity: G_target's mean pairwise feature distance / G_T's (1 = kept, 0 = collapsed)",
             f"{m['adapt/diversity']:.3f}"],
            ["correspondence: edge-map SSIM of G_T(w) and G_target(w)", f"{m['adapt/correspondence']:.3f}"],
            ["nearest-target distance of G_target samples: mean / min (targets' own spacing)",
             f"{m['adapt/nn_target_mean']:.3f} / {m['adapt/nn_target_min']:.3f} "
             f"({m.get('adapt/nn_target_ref', float('nan')):.3f})"]])
    run.report.section("GPD: few-shot adaptation", [
        ("gpd_adapt_compare.png", "the same latents through the photo teacher G_T (top row) and the teacher "
                                  f"adapted to {N_SHOTS} sketches G_target (middle row); bottom row: the target "
                                  "sketch nearest to each G_target sample (copies show up here)"),
        ("gpd_anchors.png", "anchors, rows: real photo, its projection G_T(w_a), G_target(w_a), real sketch"),
        ("gpd_adapt_losses.png", "adaptation losses (CDC = cross-domain distance consistency)"),
    ])
    run.report.section("GPD: held-out photo → sketch", [
        ("gpd_heldout.png", "rows: held-out photo, ground-truth sketch, the student trained on the 10 real pairs "
                            "only (--kd none), the anchor-KD student"),
        ("gpd_distill_losses.png", "student losses: real pairs L1, trust-weighted generated pairs, anchor-relative"),
    ])
    run.report.table(f"GPD on {len(photos)} held-out photos", ["student", "SSIM ↑", "L1 ↓"], table,
                     note=verdict(scores["anchor"], scores["none"]))
