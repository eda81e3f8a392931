"""GPD inference speed: the student translator vs the teacher route (projection into G_T + G_target render).

    OMP_NUM_THREADS=1 python benchmarks/student_speed.py [--quick] [--threads 1] [--out results.json]

Student: images/s of a U-Net (default DistillConfig: 32 base channels, depth 4) at batch 16, after warm-up.
Teacher route: seconds per projection step measured on a few steps (batch 8, W+ optimisation through
G_T with the D_T feature loss, as ``gpd route`` does) × the default 200 steps + one G_target render;
images/s = 1 / that per-image cost. Both use random weights (speed does not depend on training).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from gandistill.gpd import ProjectConfig, TranslatorConfig, UNetTranslator  # noqa: E402
from gandistill.gpd.project import feature_distance  # noqa: E402
from gandistill.teacher import StyleGAN2Config, Teacher  # noqa: E402

TEACHERS = {
    64: dict(resolution=64, channel_base=4096, channel_max=64, z_dim=64, w_dim=64, mapping_layers=4),
    256: dict(resolution=256, channel_base=16384, channel_max=512, z_dim=512, w_dim=512, mapping_layers=8),
}


def _timeit(fn, reps: int) -> float:
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def student_speed(res: int, batch: int, reps: int) -> float:
    S = UNetTranslator(TranslatorConfig(resolution=res)).eval()
    x = torch.randn(batch, 3, res, res)
    with torch.no_grad():
        sec = _timeit(lambda: S(x), reps)
    return batch / sec


def route_speed(res: int, batch: int, reps: int, proj_steps: int) -> dict:
    t = Teacher(StyleGAN2Config(**TEACHERS[res])).eval().requires_grad_(False)
    dist, _ = feature_distance("dfeat", t.D)
    target = torch.randn(batch, 3, res, res).clamp(-1, 1)
    w = t.G.mapping(torch.randn(batch, t.G.z_dim)).requires_grad_(True)
    opt = torch.optim.Adam([w], lr=0.01)

    def step():
        img = t.G.synthesis(w, noise_mode="const")
        loss = (img - target).square().mean() + dist(img, target).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    sec_step = _timeit(step, reps)
    with torch.no_grad():
        sec_render = _timeit(lambda: t.G.synthesis(w.detach(), noise_mode="const"), 1)
    per_image = (proj_steps * sec_step + sec_render) / batch
    return {"sec_per_proj_step_batch": sec_step, "proj_steps": proj_steps, "sec_per_image": per_image,
            "images_per_s": 1 / per_image}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    reps = 2 if args.quick else 5
    proj_steps = ProjectConfig().steps
    results = {"threads": args.threads, "device": "cpu", "rows": {}}
    for res in (64, 256):
        s = student_speed(res, 16 if res == 64 else 4, reps)
        r = route_speed(res, 8 if res == 64 else 2, 1 if args.quick and res == 256 else reps, proj_steps)
        results["rows"][res] = {"student_images_per_s": s, "teacher_route": r, "speedup": s / r["images_per_s"]}
        print(f"{res}px: student {s:.1f} img/s; teacher route {r['images_per_s']:.4f} img/s "
              f"({r['sec_per_image']:.1f} s/img, {proj_steps} projection steps); student is "
              f"{s / r['images_per_s']:.0f}× faster", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
