"""``gandistill triplets``: sample style-mixed triplets (x1, x2, y) from a teacher and preview them.

    gandistill triplets --teacher runs/teacher/model --out runs/triplets --n 16 --k 6
    gandistill triplets --teacher runs/teacher/model --out runs/triplets --preview-k 2,4,6

Writes ``preview.png`` (one row per triplet, columns x1 | x2 | y), ``preview-k<K>.png`` for each
``--preview-k`` value (same latents, only the crossover changes: pick k by eye), the images
``x1/ x2/ y/ NNNNNN.png`` (unless ``--no-images``) and ``triplets.safetensors`` (w1, w2, k).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..options import DeviceOption, add_dataclass_args


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def register(sub: argparse._SubParsersAction) -> None:
    from ..teacher.sample import SamplingOptions

    p = sub.add_parser("triplets", help="sample style-mixed triplets (x1, x2, y) and preview grids",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--teacher", required=True, help="teacher model directory (…/model)")
    p.add_argument("--out", required=True, type=Path, help="output folder (created)")
    p.add_argument("--n", type=int, default=16, help="number of triplets (default: 16)")
    p.add_argument("--k", type=int, default=None, help="one crossover layer k for all triplets, 0 … num_ws "
                   "(default: drawn per sample from --k-range)")
    p.add_argument("--k-range", type=_ints, default=None, help="crossover range lo,hi, inclusive (default: num_ws/2,num_ws-2)")
    p.add_argument("--preview-k", type=_ints, default=None, help="comma-separated crossovers, e.g. 4,6,8: also write preview-k<K>.png "
                   "for each (same latents)")
    add_dataclass_args(p, SamplingOptions, with_defaults=True)
    p.add_argument("--seed", type=int, default=0, help="seed of the latents and crossovers (default: 0)")
    p.add_argument("--batch", type=int, default=16, help="triplets synthesised per forward pass (default: 16)")
    p.add_argument("--no-images", action="store_true", help="write only the previews and latents, not x1/ x2/ y/ images")
    add_dataclass_args(p, DeviceOption, with_defaults=True)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import torch
    from safetensors.torch import save_file

    from ..kdit.triplets import TripletSampler, check_k_range, save_triplet_preview, synthesize_triplets
    from ..teacher import Generator
    from ..utils.dist import resolve_device
    from ..utils.images import make_grid, save_image
    from ..utils.inference import prepare_for_inference

    device = resolve_device(args.device)
    G = prepare_for_inference(Generator.from_pretrained(args.teacher), device)
    try:
        if args.k is not None:
            check_k_range((args.k, args.k), G.num_ws)
        sampler = TripletSampler(G, args.k_range, args.psi, args.seed, args.batch, args.noise_mode, device=device)
        for k in args.preview_k or []:
            check_k_range((k, k), G.num_ws)
    except ValueError as exc:
        from ..errors import GandistillError

        raise GandistillError(f"{exc} (this teacher has num_ws={G.num_ws})") from None
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    chunks = []
    left = args.n
    while left > 0:
        chunks.append(sampler.sample(min(args.batch, left), k=args.k))
        left -= args.batch
    cat = lambda name: torch.cat([getattr(t, name) for t in chunks])  # noqa: E731
    x1, x2, y, k, w1, w2 = (cat(n) for n in ("x1", "x2", "y", "k", "w1", "w2"))
    save_triplet_preview(x1, x2, y, k, out / "preview.png")
    for kk in args.preview_k or []:
        t = synthesize_triplets(G, w1, w2, torch.full_like(k, kk), args.noise_mode)
        save_triplet_preview(t.x1, t.x2, t.y, kk, out / f"preview-k{kk}.png")
    save_file({"w1": w1.cpu().contiguous(), "w2": w2.cpu().contiguous(), "k": k.cpu().contiguous()},
              str(out / "triplets.safetensors"))
    if not args.no_images:
        for name, imgs in (("x1", x1), ("x2", x2), ("y", y)):
            (out / name).mkdir(exist_ok=True)
            for i, img in enumerate(imgs):
                save_image(make_grid(img[None], nrow=1, pad=0), out / name / f"{i:06d}.png")
    (out / "triplets.json").write_text(json.dumps({"teacher": str(args.teacher), "n": args.n, "seed": args.seed,
                                                   "psi": args.psi, "k_range": list(sampler.k_range),
                                                   "k": k.tolist(), "num_ws": G.num_ws}, indent=2) + "\n")
    extra = f" and preview-k{{{','.join(map(str, args.preview_k))}}}.png" if args.preview_k else ""
    print(f"wrote {args.n} triplets (k = {sorted(set(k.tolist()))}) to {out}: preview.png (x1 | x2 | y){extra}")
    return 0
