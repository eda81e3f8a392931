"""``gandistill teacher import|export``: foreign StyleGAN2 checkpoints ↔ teacher model directories.

    gandistill teacher import 550000.pt --out runs/ffhq-teacher
    gandistill teacher import https://host/stylegan2-ffhq.pkl --out runs/ffhq-teacher --sha256 HEX
    gandistill teacher import hf://owner/repo/ffhq-256.pt@main --out runs/ffhq-teacher --which g
    gandistill teacher export --model runs/ffhq-teacher --format rosinality --out ffhq.pt

Hooked into ``gandistill teacher`` by ``add_import_parser`` / ``add_export_parser(teacher_subparsers)``.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import CheckpointError
from ..options import add_dataclass_args
from ..train.run_options import ProgressOption

if TYPE_CHECKING:
    from ..teacher.config import StyleGAN2Config

# rosinality's Generator(size, style_dim, n_mlp, channel_multiplier) channel table, as in its model.py
_ROSINALITY_BASE = {4: 512, 8: 512, 16: 512, 32: 512, 64: 256, 128: 128, 256: 64, 512: 32, 1024: 16}


def add_import_parser(teacher_subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = teacher_subparsers.add_parser(
        "import",
        help="import a rosinality .pt or NVlabs stylegan2-ada/stylegan3 .pkl (file, URL or Hub) as a teacher",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Convert a pretrained StyleGAN2 (rosinality stylegan2-pytorch .pt, or NVlabs\n"
                    "stylegan2-ada-pytorch / stylegan3 --cfg=stylegan2 .pkl) into a teacher model directory.\n"
                    "NVlabs pickles are read with a restricted unpickler that never runs the code stored in them.\n\n"
                    "SOURCE is a local file, an http(s):// URL or a Hugging Face Hub file\n"
                    "hf://owner/repo/path/to/file[@revision] ($HF_ENDPOINT/owner/repo/resolve/revision/path,\n"
                    "default endpoint https://huggingface.co, revision main). Downloads are cached in\n"
                    "$GANDISTILL_CACHE/downloads (default ~/.cache/gandistill/downloads): a cached file is used\n"
                    "without a network request, an interrupted download resumes on the next run.\n\n"
                    "  gandistill teacher import 550000.pt --out teachers/ffhq\n"
                    "  gandistill teacher import https://host/ffhq.pkl --out teachers/ffhq --sha256 HEX\n"
                    "  gandistill teacher import hf://owner/repo/ffhq-256.pt@main --out teachers/ffhq",
    )
    p.add_argument("source", metavar="SOURCE",
                   help="checkpoint to import: a local .pt/.pkl (recognised by content), an http(s):// URL "
                   "(a #sha256=HEX fragment is checked) or hf://owner/repo/path/to/file[@revision]")
    p.add_argument("--out", type=Path, required=True, help="model directory to write")
    p.add_argument("--which", choices=["g_ema", "g"], default="g_ema",
                   help="generator to import: g_ema (the EMA generator, for sampling) or g "
                   "(the training one) (default: g_ema)")
    p.add_argument("--sha256", metavar="HEX", default=None,
                   help="expected sha256 of the checkpoint; a download that does not match is deleted, "
                   "a local file that does not match is refused (default: no check)")
    p.add_argument("--overwrite", "--force", dest="overwrite", action="store_true",
                   help="replace a model already in --out")
    p.add_argument("--dry-run", action="store_true",
                   help="read and check the checkpoint (a URL is still downloaded to the cache), write no model")
    add_dataclass_args(p, ProgressOption, with_defaults=True)
    p.set_defaults(func=run_import)
    return p


def run_import(args: argparse.Namespace) -> int:
    from ..io.download import is_remote, parse_remote  # keep `gandistill --help` fast
    from ..importers import import_checkpoint

    if is_remote(args.source):
        cached = parse_remote(args.source, args.sha256).cache_path
        print(f"{'using cached' if cached.is_file() else 'downloading'} {args.source.partition('#')[0]} "
              f"→ {cached}")
    out = None if args.dry_run else args.out
    teacher = import_checkpoint(args.source, which=args.which, out=out, overwrite=args.overwrite, sha256=args.sha256,
                                progress=args.progress)
    cfg, info = teacher.config, teacher.import_info
    table = cfg.channels or {r: cfg.ch(r) for r in cfg.resolutions}
    print(f"{info['format']} checkpoint {info['imported_from']} ({args.which}): {cfg.resolution}px, "
          f"{cfg.img_channels} channels, z_dim {cfg.z_dim}, w_dim {cfg.w_dim}, "
          f"{cfg.mapping_layers} mapping layers, channels {table}, sha256 {info['source_sha256']}")
    for note in info["notes"]:
        print(f"note: {note}")
    print("dry run: nothing written" if args.dry_run else f"wrote {args.out}")
    return 0


def add_export_parser(teacher_subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = teacher_subparsers.add_parser(
        "export",
        help="write a teacher as a rosinality stylegan2-pytorch .pt (for JoJoGAN, DualStyleGAN, e4e, StyleCLIP)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write a teacher model directory as a rosinality stylegan2-pytorch checkpoint: a plain dict\n"
                    "{g_ema, g, d, latent_avg} of tensors (g is a copy of g_ema) that torch.load(weights_only=True)\n"
                    "reads. Tools built on rosinality's Generator (JoJoGAN, DualStyleGAN, e4e, StyleCLIP) rebuild it\n"
                    "when z_dim == w_dim and the channel table is rosinality's; the command says whether it is.\n\n"
                    "  gandistill teacher export --model teachers/ffhq --format rosinality --out ffhq.pt",
    )
    p.add_argument("--model", type=Path, required=True,
                   help="teacher model directory (config.json + model.safetensors, from teacher train/import)")
    p.add_argument("--format", choices=["rosinality"], default="rosinality",
                   help="checkpoint layout to write: rosinality (stylegan2-pytorch .pt) (default: rosinality)")
    p.add_argument("--out", type=Path, required=True, help="checkpoint file to write (.pt)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it already exists")
    p.set_defaults(func=run_export)
    return p


def rosinality_generator_args(cfg: "StyleGAN2Config") -> str | None:
    """``Generator(...)`` arguments of rosinality's model.py that rebuild ``cfg``, or None if none can."""
    if cfg.z_dim != cfg.w_dim or cfg.img_channels != 3:
        return None
    table = {r: cfg.ch(r) for r in cfg.resolutions}
    for multiplier in (1, 2, 4):
        if all(c == (_ROSINALITY_BASE[r] * (multiplier if r >= 64 else 1)) for r, c in table.items()):
            return f"size={cfg.resolution}, style_dim={cfg.w_dim}, n_mlp={cfg.mapping_layers}, " \
                   f"channel_multiplier={multiplier}"
    return None


def run_export(args: argparse.Namespace) -> int:
    from ..io.pretrained import read_model_config
    from ..importers.rosinality import export_rosinality
    from ..teacher.model import Teacher

    if args.out.exists() and not args.overwrite:
        raise CheckpointError(f"{args.out} already exists; choose another --out or pass --overwrite")
    if args.out.is_dir():
        raise CheckpointError(f"--out {args.out} is a directory; give a file name such as {args.out / 'teacher.pt'}")
    kind = read_model_config(args.model).get("class")
    if kind != "Teacher":
        raise CheckpointError(f"{args.model} holds a {kind!r}, not a Teacher; only teacher model directories "
                              "(from teacher train/import or gpd adapt) can be exported as StyleGAN2 checkpoints")
    teacher = Teacher.from_pretrained(args.model)
    export_rosinality(teacher, args.out)
    cfg = teacher.config
    print(f"wrote {args.out}: rosinality checkpoint of {args.model} ({cfg.resolution}px, z_dim {cfg.z_dim}, "
          f"w_dim {cfg.w_dim}, {cfg.mapping_layers} mapping layers)")
    rebuild = rosinality_generator_args(cfg)
    if rebuild:
        print(f"rosinality's model.py rebuilds it as Generator({rebuild})")
    else:
        print("note: no rosinality Generator(size, style_dim, n_mlp, channel_multiplier) has this architecture "
              "(z_dim, image channels or channel table differ); tools that build rosinality's Generator cannot load "
              "it, key-by-key readers (gandistill teacher import) can")
    return 0
