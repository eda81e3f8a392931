"""The demo pipeline: toyfaces → StyleGAN2 teacher → samples → metrics → ``report.html``.

    gandistill demo            # ~9 minutes on a 2-core CPU (the teacher is ~8 of them)
    gandistill demo --fast     # ~15-second smoke run

Each stage writes into its own folder under ``--out`` so it can be inspected or rerun on its own;
the report lists the exact command of every stage and its full-size GPU equivalent.
"""
from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ..config import dump_json, field
from ..teacher import Generator, StyleGAN2Config
from ..teacher.sample import sample_seeds, style_mix_grid
from ..teacher.train import train_teacher
from ..teacher.train_config import TeacherTrainConfig
from ..utils.images import make_grid, save_grid, save_image, to_uint8
from ..utils.logging import read_scalars
from ..utils.plot import plot_scalars
from .report import Report


@dataclass
class DemoConfig:
    out: str = field("runs/demo", help="output folder (report.html lands here)")
    fast: bool = field(False, help="seconds-long smoke run: tiny data, few steps")
    resolution: int = field(32, help="image resolution of the demo")
    data_n: int | None = field(None, help="toyfaces images (default 2000, fast 256)")
    teacher_steps: int | None = field(None, help="teacher training steps (default 2000 at batch 32, fast 40 at 16)")
    eval_n: int | None = field(None, help="images for FID/KID (default 500, fast 64)")
    seed: int = field(0, help="random seed")
    device: str = field("auto", help="auto|cpu|cuda")
    fresh: bool = field(False, help="delete an earlier demo in --out first (otherwise finished stages are reused)")

    def resolved(self) -> "DemoConfig":
        d = asdict(self)
        d["data_n"] = self.data_n or (256 if self.fast else 2000)
        d["teacher_steps"] = self.teacher_steps or (40 if self.fast else 2000)
        d["eval_n"] = self.eval_n or (64 if self.fast else 500)
        return DemoConfig(**d)


def _teacher_config(cfg: DemoConfig, data_dir: Path, out: Path) -> TeacherTrainConfig:
    width = 32 if cfg.fast else 64
    return TeacherTrainConfig(
        out=str(out), data=str(data_dir), steps=cfg.teacher_steps, batch=16 if cfg.fast else 32, grid_every=250,
        snap_every=250,
        seed=cfg.seed, device=cfg.device,
        model=StyleGAN2Config(resolution=cfg.resolution, z_dim=64, w_dim=64, mapping_layers=4,
                              channel_base=width * cfg.resolution, channel_max=width))


def run_demo(cfg: DemoConfig) -> Path:
    """Run every stage; returns the path of ``report.html``."""
    from ..data import generate_toyfaces

    cfg = cfg.resolved()
    out = Path(cfg.out)
    if cfg.fresh and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    dump_json(cfg, out / "demo_config.json")
    report = Report(out, title="gandistill demo")
    stages = 4
    t_start = time.perf_counter()

    # 1. data -----------------------------------------------------------------------------------
    print(f"[1/{stages}] built-in data: {cfg.data_n} toyfaces at {cfg.resolution} px")
    data_dir = out / "data"
    if not (data_dir / "metadata.jsonl").is_file():
        generate_toyfaces(data_dir, n=cfg.data_n, res=cfg.resolution, seed=cfg.seed)
    report.command("data", f"gandistill data toyfaces --out {data_dir} --n {cfg.data_n} --res {cfg.resolution} "
                           f"--seed {cfg.seed}",
                   "gandistill data toyfaces --out data/toyfaces256 --n 50000 --res 256")

    # 2. teacher --------------------------------------------------------------------------------
    print(f"[2/{stages}] StyleGAN2 teacher: {cfg.teacher_steps} steps")
    tcfg = _teacher_config(cfg, data_dir / "photo", out / "teacher")
    teacher_dir = Path(tcfg.out) / "model"
    done = (Path(tcfg.out) / "checkpoints").is_dir() and any(
        p.name.endswith(f"{cfg.teacher_steps:08d}.pt") for p in (Path(tcfg.out) / "checkpoints").iterdir())
    if not done:
        if (Path(tcfg.out) / "checkpoints").is_dir():
            tcfg.resume = "latest"
        train_teacher(tcfg)
    m = tcfg.model
    report.command("teacher", f"gandistill teacher train --out {tcfg.out} --data {tcfg.data} --resolution "
                   f"{m.resolution} --steps {tcfg.steps} --batch {tcfg.batch} --z-dim {m.z_dim} --w-dim {m.w_dim} "
                   f"--channel-base {m.channel_base} --channel-max {m.channel_max}",
                   "torchrun --nproc_per_node=8 -m gandistill.cli.main teacher train --out runs/teacher256 "
                   "--data data/toyfaces256/photo --resolution 256 --batch 64 --batch-gpu 8 --steps 40000 "
                   "--channel-base 16384 --channel-max 512 --z-dim 512 --w-dim 512 --mapping-layers 8 "
                   "--augment ada --pl-weight 2")
    rows = read_scalars(tcfg.out)
    plot_scalars(rows, ["loss/G", "loss/D"], out / "teacher_losses.png", title="teacher losses (smoothed)")
    plot_scalars(rows, ["scores/real", "scores/fake"], out / "teacher_scores.png", title="D scores (smoothed)")

    # 3. samples --------------------------------------------------------------------------------
    print(f"[3/{stages}] samples and style mixing")
    G = Generator.from_pretrained(teacher_dir).eval()
    save_grid(sample_seeds(G, list(range(32))), out / "teacher_samples.png", nrow=8, scale=2)
    save_grid(sample_seeds(G, list(range(32)), psi=0.7), out / "teacher_samples_psi07.png", nrow=8, scale=2)
    k = G.num_ws // 2
    save_grid(style_mix_grid(G, [0, 1, 2, 3], [10, 11, 12, 13, 14], crossover=k), out / "style_mixing.png",
              nrow=6, scale=2)
    reals = sorted((data_dir / "photo").glob("*.png"))[:32]
    from ..data import load_image

    real_batch = torch.stack([torch.from_numpy(load_image(p).copy()).permute(2, 0, 1) for p in reals])
    save_image(make_grid(real_batch, nrow=8), out / "real_samples.png", scale=2)
    report.command("sample", f"gandistill teacher sample --model {teacher_dir} --out {out / 'samples'} "
                   f"--seeds 0-31 --mix-rows 0-3 --mix-cols 10-14 --crossover {k}",
                   "gandistill teacher sample --model runs/teacher256/model --out samples --seeds 0-63 --psi 0.7")

    # 4. metrics --------------------------------------------------------------------------------
    print(f"[4/{stages}] FID/KID of {cfg.eval_n} teacher samples against the training photos")
    fakes = out / "eval" / "teacher"
    fakes.mkdir(parents=True, exist_ok=True)
    imgs = sample_seeds(G, list(range(10_000, 10_000 + cfg.eval_n)))
    for i, img in enumerate(to_uint8(imgs)):
        save_image(img.permute(1, 2, 0).numpy(), fakes / f"{i:05d}.png")
    metrics = _evaluate(fakes, data_dir / "photo", cfg.eval_n, out / "metrics_teacher.json")
    report.command("evaluate", f"gandistill evaluate {fakes} --reference {data_dir / 'photo'} --metrics fid,kid "
                   f"--num {cfg.eval_n} --out {out / 'metrics_teacher.json'}",
                   "gandistill evaluate samples50k --reference data/toyfaces256/photo --metrics fid,kid")

    elapsed = time.perf_counter() - t_start
    report.section("Training data (toyfaces photos)", [("real_samples.png", "32 training photos")])
    report.section("Teacher samples", [
        ("teacher_samples.png", f"32 samples of the teacher after {cfg.teacher_steps} steps (ψ = 1)"),
        ("teacher_samples_psi07.png", "the same seeds with truncation ψ = 0.7"),
        ("style_mixing.png", f"style mixing at crossover k = {k}: rows give the coarse layers ws[:k], "
                             "columns the fine layers ws[k:]; first row/column are the sources"),
    ])
    report.section("Teacher training", [("teacher_losses.png", "generator and discriminator losses"),
                                        ("teacher_scores.png", "discriminator scores on reals and fakes")])
    report.metrics("Teacher quality", metrics)
    report.finish(elapsed)
    print(f"report: {report.path}  ({elapsed / 60:.1f} min)")
    return report.path


def _evaluate(generated: Path, reference: Path, n: int, out: Path) -> dict:
    try:
        from ..metrics import evaluate

        res = evaluate(generated, reference, metrics=("fid", "kid"), num_images=n, num_reference=n, out=out)
        return {k: v for k, v in res["metrics"].items()} | {"protocol": res.get("protocol", {})}
    except Exception as exc:  # metrics are optional in the demo: report why they are missing
        return {"unavailable": str(exc)}
