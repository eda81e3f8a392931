"""GPD few-shot benchmark on toyfaces photo → sketch (32 px).

    OMP_NUM_THREADS=1 python benchmarks/gpd_fewshot.py --teacher runs/teacher32/model --quick
    python benchmarks/gpd_fewshot.py --teacher runs/teacher32/model --out runs/gpd-bench

Protocol: the photo teacher is adapted with 10 sketches (faces 4000–4009 of toyfaces seed 0, never
seen by the teacher, which trained on faces 0–1999); the same 10 (photo, sketch) pairs are the real
pairs (anchors: photos projected into G_T). Students are trained with --kd none|direct|anchor for the
same steps and seed, and evaluated with the teacher route (projection into G_T, rendered by G_target)
on 200+ held-out photos (faces 5000…) against their ground-truth sketches: FID, KID (Inception,
32 px upsampled), SSIM, L1. Writes results.json, results.md and grids; --docs copies them to docs/.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from gandistill.data import toyfaces_arrays  # noqa: E402
from gandistill.gpd import (AdaptConfig, AnchorsConfig, DistillConfig, ProjectConfig, adapt,  # noqa: E402
                            compute_anchors, distill, load_generators, load_translator, teacher_route)
from gandistill.metrics import evaluate  # noqa: E402
from gandistill.utils.images import save_grid, to_float, to_uint8  # noqa: E402

TRAIN_START, TEST_START = 4000, 5000


def write(folder: Path, arr: np.ndarray) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, a in enumerate(arr):
        Image.fromarray(a).save(folder / f"{i:05d}.png")
    return folder


def write_tensor(folder: Path, imgs: torch.Tensor) -> Path:
    return write(folder, to_uint8(imgs).permute(0, 2, 3, 1).cpu().numpy())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--teacher", default="runs/teacher32/model")
    ap.add_argument("--out", default="runs/gpd-bench")
    ap.add_argument("--quick", action="store_true", help="few steps: minutes on 2 CPU cores")
    ap.add_argument("--n-test", type=int, default=200)
    ap.add_argument("--n-train", type=int, default=10)
    ap.add_argument("--adapt-steps", type=int, default=None)
    ap.add_argument("--distill-steps", type=int, default=None)
    ap.add_argument("--proj-steps", type=int, default=None)
    ap.add_argument("--route-steps", type=int, default=None)
    ap.add_argument("--cdc-weight", type=float, default=100.0)
    ap.add_argument("--modes", default="none,direct,anchor")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared machine)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--docs", action="store_true", help="copy the table and grids to docs/")
    ap.add_argument("--reuse", action="store_true", help="reuse an existing adapted model / anchors in --out")
    ap.add_argument("--distill-overrides", default="{}", help='JSON DistillConfig overrides, e.g. {"w_direct": 0}')
    ap.add_argument("--tag", default="", help="suffix of the student run folders (ablations with --reuse)")
    ap.add_argument("--no-route", action="store_true", help="skip the teacher route")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    q = args.quick
    steps_adapt = args.adapt_steps or (150 if q else 500)
    steps_distill = args.distill_steps or (300 if q else 2000)
    steps_proj = args.proj_steps or (150 if q else 300)
    steps_route = args.route_steps or (100 if q else 300)
    out = Path(args.out)
    timings: dict[str, float] = {}

    data = out / "data"
    train = toyfaces_arrays(args.n_train, 32, seed=0, start=TRAIN_START, domains=("photo", "sketch"))
    test = toyfaces_arrays(args.n_test, 32, seed=0, start=TEST_START, domains=("photo", "sketch"))
    write(data / "pairs" / "A", train["photo"])
    write(data / "pairs" / "B", train["sketch"])
    write(data / "test" / "A", test["photo"])
    gt = write(data / "test" / "B", test["sketch"])

    t0 = time.perf_counter()
    adapted = out / "adapt" / "model"
    if not (args.reuse and adapted.is_dir()):
        adapted = adapt(AdaptConfig(out=str(out / "adapt"), teacher=args.teacher, target=str(data / "pairs" / "B"),
                                    steps=steps_adapt, cdc_weight=args.cdc_weight, seed=args.seed, device="cpu",
                                    grid_every=max(1, steps_adapt // 3), snap_every=steps_adapt, progress=False))
    timings["adapt_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    anchors = out / "adapt" / "anchors.safetensors"
    if not (args.reuse and anchors.is_file()):
        anchors = compute_anchors(AnchorsConfig(adapted=str(adapted), data=str(data / "pairs"), steps=steps_proj,
                                                device="cpu", out=str(anchors)), progress=False)
    timings["anchors_s"] = time.perf_counter() - t0
    anchor_q = json.loads(anchors.with_suffix(".json").read_text())["quality"]

    photos = to_float(torch.from_numpy(test["photo"]).permute(0, 3, 1, 2))
    outputs: dict[str, torch.Tensor] = {}
    for kd in args.modes.split(","):
        t0 = time.perf_counter()
        model = distill(DistillConfig(**{**dict(
            out=str(out / f"student-{kd}{args.tag}"), adapted=str(adapted), anchors=str(anchors), kd=kd,
            steps=steps_distill, seed=args.seed, device="cpu", progress=False,
            grid_every=max(1, steps_distill // 4), snap_every=steps_distill), **json.loads(args.distill_overrides)}))
        timings[f"distill_{kd}_s"] = time.perf_counter() - t0
        S = load_translator(model).eval()
        with torch.no_grad():
            outputs[f"student ({kd}){args.tag}"] = torch.cat([S(x) for x in photos.split(64)])

    route_q: dict = {}
    if not args.no_route:
        t0 = time.perf_counter()
        src, tgt = load_generators(adapted)
        route, route_q = teacher_route(src.G, tgt.G, photos, ProjectConfig(steps=steps_route, batch=50), D_T=src.D)
        timings["teacher_route_s"] = time.perf_counter() - t0
        outputs["teacher route"] = route

    results = {"protocol": {"resolution": 32, "n_train_pairs": args.n_train, "n_test": args.n_test,
                            "adapt_steps": steps_adapt, "distill_steps": steps_distill, "anchor_proj_steps": steps_proj,
                            "route_proj_steps": steps_route, "cdc_weight": args.cdc_weight, "teacher": args.teacher,
                            "quick": q, "threads": args.threads,
                            "distill_overrides": json.loads(args.distill_overrides)},
               "anchor_projection": {k: v for k, v in anchor_q.items() if k.startswith("mean_")},
               "route_projection": {k: v for k, v in route_q.items() if k.startswith("mean_")},
               "timings_s": timings, "methods": {}}
    for name, imgs in outputs.items():
        folder = write_tensor(out / "eval" / name.replace(" ", "_").replace("(", "").replace(")", ""), imgs)
        m = evaluate(folder, gt, metrics=("fid", "kid", "ssim", "l1"), paired=True, progress=False)["metrics"]
        results["methods"][name] = {k: (v if not isinstance(v, dict) else v.get("mean", v)) for k, v in m.items()}
        print(name, results["methods"][name], flush=True)

    suffix = args.tag or ""
    (out / f"results{suffix}.json").write_text(json.dumps(results, indent=2, default=float) + "\n")
    lines = ["| method | FID ↓ | KID ×1000 ↓ | SSIM ↑ | L1 ↓ |", "|---|---|---|---|---|"]
    for name, m in results["methods"].items():
        kid = m.get("kid")
        lines.append(f"| {name} | {m.get('fid', float('nan')):.1f} | {1000 * kid:.1f} | {m.get('ssim', 0):.3f} | "
                     f"{m.get('l1', 0):.4f} |")
    table = "\n".join(lines) + "\n"
    (out / f"results{suffix}.md").write_text(table)
    print(table)
    idx = list(range(8))
    rows = [photos[idx], to_float(torch.from_numpy(test["sketch"][idx]).permute(0, 3, 1, 2))]
    rows += [outputs[k][idx] for k in outputs]
    save_grid(torch.cat(rows), out / f"test_grid{suffix}.png", nrow=8, scale=3)
    if args.docs:
        img = ROOT / "docs" / "images"
        img.mkdir(parents=True, exist_ok=True)
        shutil.copy(out / "test_grid.png", img / "gpd_test_grid.png")
        shutil.copy(out / "adapt" / "samples" / f"compare-{steps_adapt:08d}.png", img / "gpd_adapt_compare.png")
        shutil.copy(anchors.with_suffix(".png"), img / "gpd_anchors.png")
        (ROOT / "docs" / "gpd_results.json").write_text(json.dumps(results, indent=2, default=float) + "\n")


if __name__ == "__main__":
    main()
