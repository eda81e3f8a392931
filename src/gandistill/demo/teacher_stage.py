"""Demo stages 1–4: built-in data, the StyleGAN2 teacher, its samples and its FID/KID."""
from __future__ import annotations

from pathlib import Path


from ..data import generate_toyfaces
from ..teacher import Generator, StyleGAN2Config
from ..teacher.sample import sample_seeds, style_mix_grid
from ..teacher.train import train_teacher
from ..teacher.train_config import TeacherTrainConfig
from ..utils.images import make_grid, save_grid, save_image, to_uint8
from ..utils.logging import read_scalars
from ..utils.plot import plot_scalars
from .recipe import full_size
from .run import DemoRun, read_uint8


def run_data(run: DemoRun) -> tuple[Path, Path]:
    """The teacher's photos (toyfaces seed 0) and a separate paired set (seed 1) for KDIT and GPD."""
    cfg = run.cfg
    data_dir, pairs_dir = run.out / "data", run.out / "pairs"
    with run.stage("data"):
        for folder, n, seed in ((data_dir, cfg.data_n, cfg.seed), (pairs_dir, cfg.pairs_n, cfg.seed + 1)):
            settings = {"n": n, "res": cfg.resolution, "seed": seed}
            if not run.is_done(f"data-{folder.name}", settings):
                generate_toyfaces(folder, n=n, res=cfg.resolution, seed=seed, progress=False)
                run.mark_done(f"data-{folder.name}", settings)
    run.report.command("data", f"gandistill data toyfaces --out {data_dir} --n {cfg.data_n} --res {cfg.resolution} "
                               f"--seed {cfg.seed}",
                       full_size("data"))
    return data_dir, pairs_dir


def teacher_config(cfg, data_dir: Path, out: Path) -> TeacherTrainConfig:
    width = 32 if cfg.fast else 64
    return TeacherTrainConfig(
        out=str(out), data=str(data_dir), steps=cfg.teacher_steps, batch=16 if cfg.fast else 32, grid_every=250,
        snap_every=250, seed=cfg.seed, device=cfg.device,
        model=StyleGAN2Config(resolution=cfg.resolution, z_dim=64, w_dim=64, mapping_layers=4,
                              channel_base=width * cfg.resolution, channel_max=width))


def run_teacher(run: DemoRun, data_dir: Path) -> tuple[Path, str]:
    """Train (or reuse) the teacher; returns its model directory and the stage fingerprint."""
    tcfg = teacher_config(run.cfg, data_dir / "photo", run.out / "teacher")
    run_dir = Path(tcfg.out)
    with run.stage("teacher"):
        fp = run.train("teacher", tcfg, train_teacher)
    m = tcfg.model
    run.report.command("teacher", f"gandistill teacher train --out {tcfg.out} --data {tcfg.data} --resolution "
                       f"{m.resolution} --steps {tcfg.steps} --batch {tcfg.batch} --z-dim {m.z_dim} --w-dim {m.w_dim} "
                       f"--mapping-layers {m.mapping_layers} --channel-base {m.channel_base} "
                       f"--channel-max {m.channel_max}",
                       full_size("teacher"))
    rows = read_scalars(run_dir)
    plot_scalars(rows, ["loss/G", "loss/D"], run.out / "teacher_losses.png", title="teacher losses (smoothed)")
    plot_scalars(rows, ["scores/real", "scores/fake"], run.out / "teacher_scores.png", title="D scores (smoothed)")
    return run_dir / "model", fp


def run_samples(run: DemoRun, data_dir: Path, teacher_dir: Path) -> int:
    """Sample grids and the style-mixing grid; returns the crossover k shown."""
    out = run.out
    with run.stage("teacher samples"):
        G = Generator.from_pretrained(teacher_dir).eval()
        save_grid(sample_seeds(G, list(range(32))), out / "teacher_samples.png", nrow=8, scale=2)
        save_grid(sample_seeds(G, list(range(32)), psi=0.7), out / "teacher_samples_psi07.png", nrow=8, scale=2)
        k = G.num_ws // 2
        save_grid(style_mix_grid(G, [0, 1, 2, 3], [10, 11, 12, 13, 14], crossover=k), out / "style_mixing.png",
                  nrow=6, scale=2)
        reals = sorted((data_dir / "photo").glob("*.png"))[:32]
        save_image(make_grid(read_uint8(reals), nrow=8), out / "real_samples.png", scale=2)
    run.report.command("sample", f"gandistill teacher sample --model {teacher_dir} --out {out / 'samples'} "
                       f"--seeds 0-31 --mix-rows 0-3 --mix-cols 10-14 --crossover {k}",
                       full_size("sample"))
    steps = run.cfg.teacher_steps
    run.report.section("Training data (toyfaces photos)", [("real_samples.png", "32 training photos")])
    run.report.section("Teacher samples", [
        ("teacher_samples.png", f"32 samples of the teacher after {steps} steps (ψ = 1)"),
        ("teacher_samples_psi07.png", "the same seeds with truncation ψ = 0.7"),
        ("style_mixing.png", f"style mixing at crossover k = {k}: rows give the coarse layers ws[:k], "
                             "columns the fine layers ws[k:]; first row/column are the sources"),
    ])
    run.report.section("Teacher training", [("teacher_losses.png", "generator and discriminator losses"),
                                            ("teacher_scores.png", "discriminator scores on reals and fakes")])
    return k


def run_teacher_metrics(run: DemoRun, data_dir: Path, teacher_dir: Path) -> None:
    cfg, out = run.cfg, run.out
    fakes = out / "eval" / "teacher"
    with run.stage("teacher metrics"):
        fakes.mkdir(parents=True, exist_ok=True)
        G = Generator.from_pretrained(teacher_dir).eval()
        imgs = sample_seeds(G, list(range(10_000, 10_000 + cfg.eval_n)))
        for i, img in enumerate(to_uint8(imgs)):
            save_image(img.permute(1, 2, 0).numpy(), fakes / f"{i:05d}.png")
        metrics = evaluate_or_reason(fakes, data_dir / "photo", cfg.eval_n, out / "metrics_teacher.json")
    run.report.command("evaluate", f"gandistill evaluate {fakes} --reference {data_dir / 'photo'} --metrics fid,kid "
                       f"--num {cfg.eval_n} --out {out / 'metrics_teacher.json'}",
                       full_size("evaluate"))
    run.report.metrics(f"Teacher quality ({cfg.eval_n} samples vs {cfg.eval_n} training photos)", metrics)
    run.report.paragraph("What to expect: this CPU-sized teacher is a weak prior. In docs/teacher.md's benchmark the same "
                    "32 px model with the StyleGAN2 discriminator reaches FID ≈ 210 after 10 CPU-minutes and ≈ 166 "
                    "after 30 (500 samples vs 2,000 photos); two sets of real toyfaces score ≈ 16. The projected "
                    "discriminator did worse there (FID ≈ 390 at 20 CPU-minutes), so the demo keeps the StyleGAN2 D.")


def evaluate_or_reason(generated: Path, reference: Path, n: int, out: Path) -> dict:
    """FID/KID, or why they are missing (the Inception weights are an optional install)."""
    try:
        from ..metrics import evaluate

        res = evaluate(generated, reference, metrics=("fid", "kid"), num_images=n, num_reference=n, out=out,
                       progress=False)
        return {k: v for k, v in res["metrics"].items()} | {"protocol": res.get("protocol", {})}
    except Exception as exc:  # metrics are optional in the demo: report why they are missing
        return {"unavailable": str(exc)}
