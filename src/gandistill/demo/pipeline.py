"""The demo pipeline on built-in toyfaces, with one progress display and ``report.html``:

    data → StyleGAN2 teacher → samples, style mixing, FID/KID
         → KDIT: triplets → data-free I2I distillation → sketch → photo fine-tuning on 50 pairs
         → GPD: adapt to 10 (photo, sketch) pairs → anchors → anchor-based distillation
           → photo → sketch translation

    gandistill demo            # ~9 minutes on a 2-core CPU
    gandistill demo --fast     # under a minute: a smoke run

Each stage writes into its own folder under ``--out`` and is reused when the demo runs again with
the same settings (an interrupted stage resumes from its last training state); the report lists the
exact command of every stage and its full-size GPU equivalent.
"""
from __future__ import annotations

import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..io.atomic import dump_json
from ..options import DeviceOption, field
from ..utils.logging import OverallProgress
from .gpd_stage import run_gpd
from .kdit_stage import run_kdit
from .recipe import USER_INPUTS
from .report import Report
from .run import DemoRun
from .teacher_stage import run_data, run_samples, run_teacher, run_teacher_metrics

# default budgets: (full, --fast)
DEFAULTS = {"data_n": (2000, 256), "teacher_steps": (1200, 40), "eval_n": (500, 64), "kdit_steps": (300, 10),
            "finetune_steps": (150, 10), "adapt_steps": (400, 10), "gpd_steps": (300, 10), "proj_steps": (100, 5),
            "heldout_n": (64, 16)}
# rough seconds per unit on a 2-core CPU at 32 px, for the progress display's percentage and ETA
COST = {"data": 0.01, "teacher": 0.28, "teacher samples": 5.0, "teacher metrics": 0.1, "KDIT distillation": 0.17,
        "KDIT fine-tuning": 0.15, "KDIT evaluation": 3.0, "GPD adaptation": 0.12, "GPD anchors": 0.1,
        "GPD distillation": 0.27, "GPD translation": 3.0}


@dataclass
class DemoConfig(DeviceOption):
    out: str = field("runs/demo", help="output folder (report.html lands here)")
    fast: bool = field(False, help="smoke run in under a minute: tiny data, a few steps per stage, smaller teacher")
    resolution: int = field(32, help="image resolution of the demo (a power of two ≥ 16)")
    data_n: int | None = field(None, help="toyfaces photos the teacher trains on (default 2000, fast 256)")
    teacher_steps: int | None = field(None, help="teacher training steps (default 1200 at batch 32, fast 40 at 16)")
    eval_n: int | None = field(None, help="images for the teacher's FID/KID (default 500, fast 64)")
    kdit_steps: int | None = field(None, help="KDIT data-free distillation steps (default 300, fast 10)")
    finetune_pairs: int = field(50, help="real sketch → photo pairs KDIT fine-tunes on")
    finetune_steps: int | None = field(None, help="KDIT fine-tuning steps (default 150, fast 10)")
    adapt_steps: int | None = field(None, help="GPD adaptation steps on 10 (photo, sketch) pairs "
                                    "(default 400, fast 10)")
    proj_steps: int | None = field(None, help="GPD projection steps: the adaptation's pairs and the "
                                   "anchors (default 100, fast 5)")
    gpd_steps: int | None = field(None, help="GPD student distillation steps (default 300, fast 10)")
    heldout_n: int | None = field(None, help="held-out pairs the students are evaluated on (default 64, fast 16)")
    seed: int = field(0, help="random seed")
    fresh: bool = field(False, help="delete an earlier demo in --out first (otherwise finished stages are reused)")
    progress: bool = field(True, help="show the overall progress bar")

    def resolved(self) -> "DemoConfig":
        d = asdict(self)
        for name, (full, fast) in DEFAULTS.items():
            if d[name] is None:
                d[name] = fast if self.fast else full
        return DemoConfig(**d)

    @property
    def pairs_n(self) -> int:
        """Size of the paired set: KDIT's training pairs, then the held-out pairs (GPD uses 10 + held-out)."""
        return self.finetune_pairs + self.heldout_n


def plan(cfg: DemoConfig) -> dict[str, float]:
    """Estimated seconds per stage (the overall progress display's units)."""
    c = COST
    return {"data": c["data"] * (cfg.data_n + cfg.pairs_n), "teacher": c["teacher"] * cfg.teacher_steps,
            "teacher samples": c["teacher samples"], "teacher metrics": c["teacher metrics"] * cfg.eval_n,
            "KDIT distillation": c["KDIT distillation"] * cfg.kdit_steps,
            "KDIT fine-tuning": c["KDIT fine-tuning"] * cfg.finetune_steps, "KDIT evaluation": c["KDIT evaluation"],
            "GPD adaptation": c["GPD adaptation"] * cfg.adapt_steps + c["GPD anchors"] * cfg.proj_steps * 10,
            "GPD anchors": c["GPD anchors"] * cfg.proj_steps * 10,
            # GPD distillation trains two students: anchor KD and the --kd none baseline (cheaper per step)
            "GPD distillation": c["GPD distillation"] * cfg.gpd_steps * 1.5, "GPD translation": c["GPD translation"]}


def run_demo(cfg: DemoConfig) -> Path:
    """Run every stage; returns the path of ``report.html``."""
    cfg = cfg.resolved()
    if cfg.finetune_pairs < 10:
        raise ValueError("--finetune-pairs must be at least 10 (GPD uses the first 10 pairs as its shots)")
    out = Path(cfg.out)
    if cfg.fresh and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    dump_json(cfg, out / "demo_config.json")
    progress = OverallProgress(plan(cfg), enabled=cfg.progress)
    run = DemoRun(cfg, out, Report(out, title="gandistill demo"), progress)
    run.report.user_inputs = dict(USER_INPUTS)
    t_start = time.perf_counter()
    progress.write(f"gandistill demo → {out}  (per-stage logs in {out / 'logs'})")
    try:
        data_dir, pairs_dir = run_data(run)
        teacher_dir, teacher_fp = run_teacher(run, data_dir)
        run_samples(run, data_dir, teacher_dir)
        run_teacher_metrics(run, data_dir, teacher_dir)
        run_kdit(run, teacher_dir, teacher_fp, pairs_dir)
        run_gpd(run, teacher_dir, teacher_fp, pairs_dir)
    finally:
        progress.close()
    elapsed = time.perf_counter() - t_start
    run.report.finish(elapsed)
    print(f"report: {run.report.path}  ({elapsed / 60:.1f} min)", file=sys.stderr)
    return run.report.path
