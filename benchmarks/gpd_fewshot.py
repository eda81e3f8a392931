"""GPD few-shot benchmark: paired (photo → sketch on toyfaces) or target-only (style images alone).

    OMP_NUM_THREADS=1 python benchmarks/gpd_fewshot.py --teacher runs/teacher32/model --quick
    OMP_NUM_THREADS=1 python benchmarks/gpd_fewshot.py --teacher runs/teacher32/model --quick --target-only
    python benchmarks/gpd_fewshot.py --teacher runs/faces128/model --target-only \
        --photos ../shared/data/faces128 --styles ../shared/data/styles256 --style-glob 'jojogan_*' \
        --out runs/gpd-styles

Paired protocol: the photo teacher is adapted with 10 (photo, sketch) pairs (faces 4000–4009 of toyfaces
seed 0, never seen by a teacher trained on faces 0–1999; the adaptation's paired term, ``--adapt-overrides
'{"w_pair": 0}'`` adapts on the sketches alone); the same 10 pairs are the real pairs (anchors: photos
projected into G_T). Students are trained with --kd none|direct|anchor for the same
steps and seed, and compared with the teacher route (projection into G_T, rendered by G_target) on
held-out photos (faces 5000…) against their ground-truth sketches: FID, KID, SSIM, L1.

Target-only protocol (``--target-only``, GPD's main use: a style from a few images, no photos): the
teacher is adapted on the ≤ 10 style images, the anchors are those images projected into G_target, and
the students (--kd direct|anchor; `none` needs real photos) train on generated pairs with anchor-based
trust. Test photos: toyfaces 5000… (with ground-truth sketches, so SSIM/L1 too) or any ``--photos``
folder. Reported for every method: FID against the style set (few images: a coarse, noisy number),
diversity (mean pairwise D_T-feature distance of the outputs relative to the input photos'), and
correspondence (edge-map SSIM between each photo and its translation).

Everything (data, models, results.json, results.md, grids) goes under --out, which must not be inside
the repository except under runs/; --docs copies the table and grids to docs/.
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
from gandistill.data.inputs import expand_inputs, load_image_batch  # noqa: E402
from gandistill.gpd import (AdaptConfig, AnchorsConfig, GPDDistillConfig, ProjectConfig, adapt,  # noqa: E402
                            compute_anchors, correspondence, distill, diversity_ratio, load_generators,
                            load_translator, teacher_route)
from gandistill.gpd.adapt_metrics import flat_features  # noqa: E402
from gandistill.gpd.project import dfeat_features  # noqa: E402
from gandistill.metrics import evaluate  # noqa: E402
from gandistill.teacher import Teacher  # noqa: E402
from gandistill.utils.images import save_labelled_grid, to_float, to_uint8  # noqa: E402
from gandistill.utils.logging import read_scalars  # noqa: E402

TRAIN_START, TEST_START = 4000, 5000


def write(folder: Path, arr: np.ndarray) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, a in enumerate(arr):
        Image.fromarray(a.squeeze()).save(folder / f"{i:05d}.png")
    return folder


def write_tensor(folder: Path, imgs: torch.Tensor) -> Path:
    return write(folder, to_uint8(imgs).permute(0, 2, 3, 1).cpu().numpy())


def check_out(out: Path) -> None:
    """Results go under runs/ or outside the repository, never among the sources."""
    full = out.resolve()
    if full.is_relative_to(ROOT) and not full.is_relative_to(ROOT / "runs"):
        sys.exit(f"--out {out}: write benchmark results under runs/ (or outside the repository)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--teacher", default="runs/teacher32/model")
    ap.add_argument("--out", default="runs/gpd-bench")
    ap.add_argument("--quick", action="store_true", help="few steps: minutes on 2 CPU cores")
    ap.add_argument("--target-only", action="store_true", help="style images only, no real photo pairs")
    ap.add_argument("--photos", default=None, help="folder of test photos (default: toyfaces 5000…, with ground "
                    "truth)")
    ap.add_argument("--styles", default=None, help="folder of style images (default: toyfaces sketches 4000…)")
    ap.add_argument("--style-glob", default="*", help="file pattern inside --styles (one style), e.g. 'jojogan_*'")
    ap.add_argument("--n-test", type=int, default=200)
    ap.add_argument("--n-train", type=int, default=10, help="real pairs / style images")
    ap.add_argument("--adapt-steps", type=int, default=None)
    ap.add_argument("--distill-steps", type=int, default=None)
    ap.add_argument("--proj-steps", type=int, default=None)
    ap.add_argument("--route-steps", type=int, default=None)
    ap.add_argument("--cdc-weight", type=float, default=None, help="default: AdaptConfig's")
    ap.add_argument("--adapt-overrides", default="{}", help='JSON AdaptConfig overrides, e.g. {"cdc_anchor_every": 0}')
    ap.add_argument("--modes", default=None, help="--kd modes (default none,direct,anchor; target-only "
                    "direct,anchor)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared machine)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--docs", action="store_true", help="copy the table and grids to docs/")
    ap.add_argument("--reuse", action="store_true", help="reuse an existing adapted model / anchors in --out")
    ap.add_argument("--distill-overrides", default="{}", help='JSON GPDDistillConfig overrides, e.g. {"w_direct": 0}')
    ap.add_argument("--tag", default="", help="suffix of the student run folders (ablations with --reuse)")
    ap.add_argument("--no-route", action="store_true", help="skip the teacher route")
    args = ap.parse_args()
    out = Path(args.out)
    check_out(out)
    torch.set_num_threads(args.threads)
    q = args.quick
    steps_adapt = args.adapt_steps or (150 if q else 500)
    steps_distill = args.distill_steps or (300 if q else 2000)
    steps_proj = args.proj_steps or (150 if q else 300)
    steps_route = args.route_steps or (100 if q else 300)
    modes = (args.modes or ("direct,anchor" if args.target_only else "none,direct,anchor")).split(",")
    if args.target_only and "none" in modes:
        sys.exit("--target-only: --kd none needs real photo pairs; use --modes direct,anchor")
    tcfg = Teacher.from_pretrained(args.teacher).config
    res, ch = tcfg.resolution, tcfg.img_channels
    timings: dict[str, float] = {}

    # --- data: targets (styles or sketches), real pairs (paired mode), test photos (+ ground truth) ---
    data = out / "data"
    if args.styles:
        files = sorted(f for f in expand_inputs(args.styles) if f.match(args.style_glob))[:args.n_train]
        if not files:
            sys.exit(f"--styles {args.styles}: no images match {args.style_glob!r}")
        styles = data / "styles"
        write_tensor(styles, load_image_batch(files, res, ch))
    else:
        train = toyfaces_arrays(args.n_train, res, seed=0, start=TRAIN_START, domains=("photo", "sketch"))
        write(data / "pairs" / "A", train["photo"])
        styles = write(data / "pairs" / "B", train["sketch"])
    if not args.target_only and args.styles:
        sys.exit("--styles without --target-only: the paired benchmark needs matching photos (toyfaces)")
    gt = None
    if args.photos:
        photos = load_image_batch(expand_inputs(args.photos)[:args.n_test], res, ch)
    else:
        test = toyfaces_arrays(args.n_test, res, seed=0, start=TEST_START, domains=("photo", "sketch"))
        photos = to_float(torch.from_numpy(test["photo"]).permute(0, 3, 1, 2))
        gt = write(data / "test" / "B", test["sketch"])
    write_tensor(data / "test" / "A", photos)

    # the real examples: the 10 pairs (the adaptation's paired term, the anchors) or, target-only, the targets
    real_data = styles if args.target_only else data / "pairs"
    t0 = time.perf_counter()
    adapted = out / "adapt" / "model"
    if not (args.reuse and adapted.is_dir()):
        overrides = json.loads(args.adapt_overrides)
        if args.cdc_weight is not None:
            overrides["w_cdc"] = args.cdc_weight
        adapted = adapt(AdaptConfig(**{**dict(
            out=str(out / "adapt"), teacher=args.teacher, target=str(real_data), steps=steps_adapt, seed=args.seed,
            device="cpu", grid_every=max(1, steps_adapt // 3), snap_every=steps_adapt, progress=False), **overrides}))
    timings["adapt_s"] = time.perf_counter() - t0
    measured = [r for r in read_scalars(out / "adapt") if "adapt/diversity" in r]
    adapt_measures = {k: v for k, v in measured[-1].items() if k.startswith("adapt/")} if measured else {}

    t0 = time.perf_counter()
    anchors = out / "adapt" / "anchors.safetensors"
    if not (args.reuse and anchors.is_file()):
        anchors = compute_anchors(AnchorsConfig(adapted=str(adapted), teacher=args.teacher, data=str(real_data),
                                                steps=steps_proj, device="cpu", out=str(anchors)), progress=False)
    timings["anchors_s"] = time.perf_counter() - t0
    anchor_q = json.loads(anchors.with_suffix(".json").read_text())["quality"]

    outputs: dict[str, torch.Tensor] = {}
    for kd in modes:
        t0 = time.perf_counter()
        model = distill(GPDDistillConfig(**{**dict(
            out=str(out / f"student-{kd}{args.tag}"), adapted=str(adapted), teacher=args.teacher,
            anchors=str(anchors), kd=kd,
            steps=steps_distill, seed=args.seed, device="cpu", progress=False, depth=min(4, res.bit_length() - 2),
            grid_every=max(1, steps_distill // 4), snap_every=steps_distill), **json.loads(args.distill_overrides)}))
        timings[f"distill_{kd}_s"] = time.perf_counter() - t0
        S = load_translator(model).eval()
        with torch.no_grad():
            outputs[f"student ({kd}){args.tag}"] = torch.cat([S(x) for x in photos.split(64)])

    src, tgt = load_generators(adapted, args.teacher)  # --teacher: also when --reuse copied the adapted model
    route_q: dict = {}
    if not args.no_route:
        t0 = time.perf_counter()
        route, route_q = teacher_route(src.G, tgt.G, photos, ProjectConfig(steps=steps_route, batch=50), D_T=src.D)
        timings["teacher_route_s"] = time.perf_counter() - t0
        outputs["teacher route"] = route

    results = {"protocol": {"mode": "target-only" if args.target_only else "paired", "resolution": res,
                            "n_train": args.n_train, "n_test": len(photos), "photos": args.photos or "toyfaces",
                            "styles": args.styles or "toyfaces sketches", "style_glob": args.style_glob,
                            "adapt_steps": steps_adapt, "distill_steps": steps_distill, "anchor_proj_steps": steps_proj,
                            "route_proj_steps": steps_route, "teacher": args.teacher, "quick": q,
                            "threads": args.threads, "adapt_overrides": json.loads(args.adapt_overrides),
                            "distill_overrides": json.loads(args.distill_overrides)},
               "adaptation": adapt_measures,
               "anchor_projection": {k: v for k, v in anchor_q.items() if k.startswith("mean_")},
               "route_projection": {k: v for k, v in route_q.items() if k.startswith("mean_")},
               "timings_s": timings, "methods": {}}
    features = flat_features(dfeat_features(src.D))  # fixed: the source teacher's D trunk
    with torch.no_grad():
        photo_feats = features(photos)
    for name, imgs in outputs.items():
        folder = write_tensor(out / "eval" / name.replace(" ", "_").replace("(", "").replace(")", ""), imgs)
        m: dict = {}
        if gt is not None:
            r = evaluate(folder, gt, metrics=("fid", "kid", "ssim", "l1"), paired=True, progress=False)["metrics"]
            m.update({k: (v if not isinstance(v, dict) else v.get("mean", v)) for k, v in r.items()})
        if args.target_only:
            r = evaluate(folder, styles, metrics=("fid",), progress=False)["metrics"]
            m["fid_style"] = r["fid"]
            with torch.no_grad():
                m["diversity"] = diversity_ratio(features(imgs), photo_feats)
            m["correspondence"] = correspondence(photos, imgs)
        results["methods"][name] = m
        print(name, m, flush=True)

    suffix = args.tag or ""
    (out / f"results{suffix}.json").write_text(json.dumps(results, indent=2, default=float) + "\n")
    cols = ([("fid", "FID ↓ (vs GT)", 1), ("kid", "KID ×1000 ↓", 1000), ("ssim", "SSIM ↑", 1), ("l1", "L1 ↓", 1)]
            if gt is not None else [])
    if args.target_only:
        cols += [("fid_style", "FID ↓ (vs styles)", 1), ("diversity", "diversity", 1),
                 ("correspondence", "correspondence ↑", 1)]
    lines = ["| method | " + " | ".join(c[1] for c in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, m in results["methods"].items():
        lines.append(f"| {name} | " + " | ".join(f"{m[k] * s:.4g}" for k, _, s in cols) + " |")
    table = "\n".join(lines) + "\n"
    if adapt_measures:
        table += "\nadaptation: " + ", ".join(f"{k.split('/')[-1]} {v:.3f}" for k, v in adapt_measures.items()) + "\n"
    (out / f"results{suffix}.md").write_text(table)
    print(table)
    idx = list(range(min(8, len(photos))))
    rows, labels = [photos[idx]], ["photo"]
    if gt is not None:
        rows.append(to_float(torch.from_numpy(test["sketch"][idx]).permute(0, 3, 1, 2)))
        labels.append("ground truth")
    rows += [outputs[k][idx] for k in outputs]
    labels += list(outputs)
    save_labelled_grid(rows, labels, out / f"test_grid{suffix}.png",
                       title=f"GPD {results['protocol']['mode']}: held-out photos", scale=max(1, 96 // res))
    if args.docs:
        img = ROOT / "docs" / "images"
        img.mkdir(parents=True, exist_ok=True)
        stem = "gpd_target_only" if args.target_only else "gpd"
        shutil.copy(out / f"test_grid{suffix}.png", img / f"{stem}_test_grid.png")
        shutil.copy(out / "adapt" / "samples" / f"compare-{steps_adapt:08d}.png", img / f"{stem}_adapt_compare.png")
        shutil.copy(anchors.with_suffix(".png"), img / f"{stem}_anchors.png")
        (ROOT / "docs" / f"{stem}_results.json").write_text(json.dumps(results, indent=2, default=float) + "\n")


if __name__ == "__main__":
    main()
