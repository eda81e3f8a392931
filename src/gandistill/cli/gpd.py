"""``gandistill gpd adapt|anchors|pairs|distill|route|export`` — few-shot translation by GAN prior distillation."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..options import DeviceOption, add_dataclass_args, from_args
from .stage_config import add_stage_options, resolve_stage_config

_FMT = argparse.RawDescriptionHelpFormatter


def register(sub: argparse._SubParsersAction) -> None:
    from ..gpd.config import (AdaptConfig, AnchorsConfig, GeneratorsOptions, GPDDistillConfig, PairsConfig,
                              ProjectConfig)

    p = sub.add_parser("gpd", help="few-shot translation: adapt a teacher, make pairs, distil a student",
                       description="GPD (Zhao et al., 2023): adapt the photo teacher to ≤10 examples of a style, "
                       "project the real examples to latent anchors, then distil a fast end-to-end student from "
                       "the generated (photo, style) pairs with anchor-based knowledge distillation. Usual order: "
                       "adapt → anchors → distill → translate (or export). See docs/gpd.md.")
    gsub = p.add_subparsers(dest="gpd_command", metavar="ACTION")
    p.set_defaults(func=lambda a: p.print_help() or 1)

    a = gsub.add_parser("adapt", help="adapt the teacher to ≤10 target images (CDC)", formatter_class=_FMT,
                        description="Fine-tune a copy of the teacher on the few target-style images with "
                        "cross-domain distance\nconsistency (CDC); the mapping network stays shared, so both "
                        "generators map one w to a pair.\n\n"
                        "  gandistill gpd adapt --teacher runs/teacher/model --target sketches/ "
                        "--out runs/adapt\n  gandistill gpd adapt --out runs/adapt --resume latest\n"
                        "  torchrun --nproc_per_node=4 -m gandistill.cli.main gpd adapt ... --batch 16   "
                        "(--batch: over all processes)")
    add_stage_options(a, AdaptConfig)
    a.set_defaults(func=_adapt)

    n = gsub.add_parser("anchors", help="project the real examples into W+ (anchors)", formatter_class=_FMT,
                        description="Project each real example into W+ (paired data: the A photos into "
                        "the teacher; target-only\ndata: the images into the adapted model) and write the "
                        "anchors file used by `gpd distill`.\n\n"
                        "  gandistill gpd anchors --adapted runs/adapt/model --data pairs/   "
                        "(A/ photos, B/ targets)\n  gandistill gpd anchors --adapted runs/adapt/model "
                        "--data sketches/   (target only)")
    add_dataclass_args(n, AnchorsConfig)
    n.set_defaults(func=_anchors)

    q = gsub.add_parser("pairs", help="dump generated (G_T(w), G_target(w)) pairs as a paired dataset",
                        formatter_class=_FMT,
                        description="Write N generated pairs as a paired dataset for inspection or other tools: "
                        "A/NNNNNN.png\n(teacher), B/NNNNNN.png (adapted), pairs.jsonl (anchor index of each "
                        "latent) and latents.pt.\n\n"
                        "  gandistill gpd pairs --adapted runs/adapt/model --anchors runs/adapt/anchors.safetensors "
                        "--n 64 --out runs/pairs")
    add_dataclass_args(q, GeneratorsOptions, with_defaults=True)
    q.add_argument("--anchors", default=None, help="anchors file from gpd anchors (without it every w is drawn "
                   "freely from the mapping network)")
    q.add_argument("--n", type=int, required=True, help="number of pairs")
    q.add_argument("--out", required=True, type=Path, help="output folder (A/, B/, pairs.jsonl, latents.pt)")
    q.add_argument("--batch", type=int, default=16, help="pairs generated per forward pass (default: 16)")
    add_dataclass_args(q, DeviceOption, with_defaults=True)
    add_dataclass_args(q.add_argument_group("stream"), PairsConfig)
    q.set_defaults(func=_pairs)

    d = gsub.add_parser("distill", help="train the student translator (anchor-based KD)", formatter_class=_FMT,
                        description="Train the end-to-end student translator on the real pairs plus an "
                        "endless stream of generated\npairs; --kd picks none (real pairs only), direct or "
                        "anchor-based distillation.\n\n"
                        "  gandistill gpd distill --adapted runs/adapt/model --anchors "
                        "runs/adapt/anchors.safetensors --kd anchor --out runs/student\n"
                        "  gandistill gpd distill --out runs/student --resume latest\n"
                        "  torchrun --nproc_per_node=4 -m gandistill.cli.main gpd distill ... --batch 16 "
                        "--gen-batch 32   (over all processes)")
    add_stage_options(d, GPDDistillConfig)
    d.set_defaults(func=_distill)

    r = gsub.add_parser("route", help="teacher route: project photos into G_T, render with G_target (slow)",
                        formatter_class=_FMT,
                        description="The slow baseline without a student: optimise a W+ latent for each photo in "
                        "the teacher,\nthen render that latent with the adapted model. One PNG per input.\n\n"
                        "  gandistill gpd route --adapted runs/adapt/model --input photos/ --output out-route/")
    add_dataclass_args(r, GeneratorsOptions, with_defaults=True)
    r.add_argument("--input", required=True, help="image file or folder of images (png, jpg, jpeg, webp)")
    r.add_argument("--output", required=True, type=Path, help="output folder (created); one PNG per input")
    add_dataclass_args(r, DeviceOption, with_defaults=True)
    add_dataclass_args(r.add_argument_group("projection"), ProjectConfig)
    r.set_defaults(func=_route)

    e = gsub.add_parser("export", help="export a student to TorchScript or ONNX", formatter_class=_FMT,
                        description="Trace a GPD student at its training resolution for deployment (feed images of "
                        "that size).\nTorchScript needs nothing extra; ONNX needs pip install 'gandistill[onnx]' "
                        "(onnx, onnxscript, onnx-ir).\n\n"
                        "  gandistill gpd export --model runs/student/model --export torchscript")
    e.add_argument("--model", required=True, help="student model directory")
    e.add_argument("--export", default="torchscript", choices=["torchscript", "onnx"],
                   help="format: torchscript (student.ts.pt) or onnx (student.onnx) (default: torchscript)")
    e.add_argument("--out", default=None, help="output file (default: student.ts.pt or student.onnx inside the "
                   "model directory)")
    e.set_defaults(func=_export)


def _adapt(args) -> int:
    from ..gpd.adapt import adapt

    model = adapt(resolve_stage_config(args), dry_run=args.dry_run)
    if not args.dry_run:
        print(f"adapted model: {model}")
    return 0


def _anchors(args) -> int:
    from ..gpd.anchor_projection import compute_anchors
    from ..gpd.config import AnchorsConfig

    compute_anchors(from_args(AnchorsConfig, args))
    return 0


def _pairs(args) -> int:
    from ..gpd.anchor_projection import Anchors, load_generators
    from ..gpd.config import PairsConfig
    from ..gpd.pairs import PairStream, dump_pairs
    from ..utils.dist import resolve_device

    src, tgt = load_generators(args.adapted, args.teacher, resolve_device(args.device))
    ws = Anchors.load(args.anchors, adapted=args.adapted).ws if args.anchors else None
    out = dump_pairs(PairStream(src.G, tgt.G, ws, from_args(PairsConfig, args), batch=args.batch), args.n, args.out)
    print(f"wrote {args.n} pairs to {out} (A/ source, B/ target)")
    return 0


def _distill(args) -> int:
    from ..gpd.distill import distill

    model = distill(resolve_stage_config(args), dry_run=args.dry_run)
    if not args.dry_run:
        print(f"student model: {model}")
    return 0


def _route(args) -> int:
    from ..gpd.anchor_projection import load_generators
    from ..gpd.config import ProjectConfig
    from ..data.inputs import input_entries, load_image_batch, output_paths, save_output, warn_if_resized
    from ..gpd.translate import teacher_route
    from ..utils.dist import resolve_device
    from ..utils.images import to_uint8

    src, tgt = load_generators(args.adapted, args.teacher, resolve_device(args.device))
    entries = input_entries(args.input)  # outputs named and checked as `translate` does: nothing overwritten
    files, paths = [f for f, _ in entries], [p[0] for p in output_paths(entries, args.output, args.input)]
    warn_if_resized(files, src.config.resolution)
    x = load_image_batch(files, src.config.resolution, src.config.img_channels).to(next(src.parameters()).device)
    pcfg = from_args(ProjectConfig, args)
    y, q = teacher_route(src.G, tgt.G, x, pcfg, D_T=src.D, progress=pcfg.progress)
    for path, img in zip(paths, to_uint8(y)):
        save_output(img, path)
    print(f"translated {len(files)} image(s) by projection (mean PSNR of the G_T fit {q['mean_psnr']:.2f} dB) "
          f"→ {args.output}")
    return 0


def _export(args) -> int:
    from ..gpd.translate import export_student

    print(f"exported: {export_student(args.model, args.export, args.out)}")
    return 0
