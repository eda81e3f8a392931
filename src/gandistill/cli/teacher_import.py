"""``gandistill teacher import FILE --out DIR``: a rosinality .pt or NVlabs .pkl → teacher model directory.

    gandistill teacher import 550000.pt --out runs/ffhq-teacher
    gandistill teacher import ffhq.pkl --out runs/ffhq-teacher --which g

Hooked into ``gandistill teacher`` by ``add_import_parser(teacher_subparsers)``.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def add_import_parser(teacher_subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = teacher_subparsers.add_parser(
        "import",
        help="import a rosinality .pt or NVlabs stylegan2-ada/stylegan3 .pkl as a teacher",
        description="Convert a pretrained StyleGAN2 (rosinality stylegan2-pytorch .pt, or NVlabs "
                    "stylegan2-ada-pytorch / stylegan3 --cfg=stylegan2 .pkl) into a teacher model "
                    "directory. NVlabs pickles are read with a restricted unpickler that never runs "
                    "the code stored in them.",
    )
    p.add_argument("file", type=Path, help="checkpoint to import (.pt or .pkl; recognised by content)")
    p.add_argument("--out", type=Path, required=True, help="model directory to write")
    p.add_argument("--which", choices=["g_ema", "g"], default="g_ema",
                   help="generator to import: g_ema (the EMA generator, for sampling) or g "
                   "(the training one) (default: g_ema)")
    p.add_argument("--force", action="store_true", help="overwrite a model already in --out")
    p.add_argument("--dry-run", action="store_true", help="read and check the file, write nothing")
    p.set_defaults(func=run_import)
    return p


def run_import(args: argparse.Namespace) -> int:
    from ..io.importers import import_checkpoint  # keep `gandistill --help` fast

    out = None if args.dry_run else args.out
    teacher = import_checkpoint(args.file, which=args.which, out=out, overwrite=args.force)
    cfg, info = teacher.config, teacher.import_info
    table = cfg.channels or {r: cfg.ch(r) for r in cfg.resolutions}
    print(f"{info['format']} checkpoint {args.file} ({args.which}): {cfg.resolution}px, "
          f"{cfg.img_channels} channels, z_dim {cfg.z_dim}, w_dim {cfg.w_dim}, "
          f"{cfg.mapping_layers} mapping layers, channels {table}")
    for note in info["notes"]:
        print(f"note: {note}")
    print("dry run: nothing written" if args.dry_run else f"wrote {args.out}")
    return 0
