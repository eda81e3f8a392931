"""``gandistill teacher train|sample|import|export``."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..options import DeviceOption, add_dataclass_args
from .stage_config import add_stage_options, resolve_stage_config


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("teacher", help="train, sample, import or export a StyleGAN2 teacher",
                       description="The StyleGAN2 teacher every method starts from: train one on an image folder "
                       "(or toyfaces), import a pretrained one (file, URL or Hub), export one for rosinality-based tools, "
                       "or render samples and style-mixing grids from it.")
    tsub = p.add_subparsers(dest="teacher_command", metavar="ACTION")
    p.set_defaults(func=lambda a: p.print_help() or 1)

    from ..teacher.config import StyleGAN2Config
    from ..teacher.train_config import TeacherTrainConfig

    t = tsub.add_parser("train", help="train a StyleGAN2 teacher (resumable, multi-process via torchrun)",
                        formatter_class=argparse.RawDescriptionHelpFormatter,
                        description="Train a StyleGAN2 teacher on an image folder or the built-in toyfaces.\n\n"
                        "  gandistill teacher train --preset toy32 --data toyfaces --out runs/teacher32\n"
                        "  gandistill teacher train --out runs/teacher --resume latest\n"
                        "  torchrun --nproc_per_node=4 -m gandistill.cli.main teacher train --data DIR")
    from ..teacher.presets import describe_presets, preset_names
    from ..teacher.sample import SamplingOptions

    t.add_argument("--preset", choices=preset_names(), metavar="NAME",
                   help="start from a named size (options given here override it): " + describe_presets())
    add_stage_options(t, TeacherTrainConfig, title="training", nested={"model": (StyleGAN2Config, "architecture")})
    t.set_defaults(func=_train)

    s = tsub.add_parser("sample", help="images for given seeds, and a style-mixing grid",
                        formatter_class=argparse.RawDescriptionHelpFormatter,
                        description="Render one PNG per seed (OUT/seedNNNN.png) and, in the sibling folder OUT-grids/,\n"
                        "grid.png; with --mix-rows/--mix-cols also a style-mixing grid OUT-grids/stylemix-k<K>.png.\n"
                        "OUT holds only the samples, so `gandistill evaluate OUT` counts exactly them.\n\n"
                        "  gandistill teacher sample --model runs/teacher/model --out samples --seeds 0-15 --psi 0.7\n"
                        "  gandistill teacher sample --model runs/teacher/model --out samples --mix-rows 0-3 "
                        "--mix-cols 10-15 --crossover 4")
    s.add_argument("--model", required=True, help="teacher model directory (…/model, with config.json + model.safetensors)")
    s.add_argument("--out", required=True, type=Path, help="output folder for the samples (created); grids go to "
                   "OUT-grids/ beside it")
    s.add_argument("--seeds", default="0-15", help="seeds: comma-separated integers and inclusive ranges, e.g. 0-15,42 (default: 0-15)")
    add_dataclass_args(s, SamplingOptions, with_defaults=True)
    s.add_argument("--mix-rows", default=None, help="row seeds of a style-mixing grid, same format as --seeds "
                   "(source of the coarse layers ws[:k]; default: 0-3 when --mix-cols is given)")
    s.add_argument("--mix-cols", default=None, help="column seeds of the style-mixing grid "
                   "(source of the fine layers ws[k:]; default: 10-13 when --mix-rows is given)")
    s.add_argument("--crossover", type=int, default=None, help="first ws layer taken from the column seed, "
                   "0 … num_ws (default: num_ws/2)")
    add_dataclass_args(s, DeviceOption, with_defaults=True)
    s.set_defaults(func=_sample)

    from .teacher_import import add_export_parser, add_import_parser

    add_import_parser(tsub)
    add_export_parser(tsub)


def _train(args: argparse.Namespace) -> int:
    from ..errors import GandistillError
    from ..teacher.presets import apply_preset
    from ..teacher.train import train_teacher

    if args.preset and (args.config or getattr(args, "resume", None)):
        raise GandistillError("--preset starts a new run from a named size; with --config or --resume the run's "
                              "recorded options are the starting point instead: drop --preset")
    cfg = resolve_stage_config(args, start=apply_preset(args.preset) if args.preset else None)
    model_dir = train_teacher(cfg, dry_run=args.dry_run)
    if not args.dry_run:
        print(f"teacher model: {model_dir}")
    return 0


def _sample(args: argparse.Namespace) -> int:
    from ..teacher import Generator
    from ..teacher.sample import parse_seeds, sample_seeds, style_mix_grid
    from ..utils.dist import resolve_device
    from ..utils.images import make_grid, save_grid, save_image, to_uint8
    from ..utils.inference import prepare_for_inference

    seeds = parse_seeds(args.seeds)  # option errors before any loading
    device = resolve_device(args.device)
    G = prepare_for_inference(Generator.from_pretrained(args.model), device)
    imgs = sample_seeds(G, seeds, psi=args.psi, noise_mode=args.noise_mode)
    args.out.mkdir(parents=True, exist_ok=True)
    # grids live beside the samples, not among them: an image folder for `evaluate` holds samples only
    grids = Path(os.path.abspath(args.out)).with_name(Path(os.path.abspath(args.out)).name + "-grids")
    grids.mkdir(exist_ok=True)
    for seed, img in zip(seeds, imgs):
        save_image(make_grid(to_uint8(img[None]), nrow=1, pad=0), args.out / f"seed{seed:04d}.png")
    save_grid(imgs, grids / "grid.png")
    print(f"wrote {len(seeds)} images to {args.out} and grid.png to {grids}")
    if args.mix_rows or args.mix_cols:
        rows = parse_seeds(args.mix_rows or "0-3", "--mix-rows")
        cols = parse_seeds(args.mix_cols or "10-13", "--mix-cols")
        k = args.crossover if args.crossover is not None else G.num_ws // 2
        grid = style_mix_grid(G, rows, cols, k, psi=args.psi, noise_mode=args.noise_mode)
        save_grid(grid, grids / f"stylemix-k{k}.png", nrow=len(cols) + 1)
        print(f"style-mixing grid (crossover {k}): {grids / f'stylemix-k{k}.png'}")
    return 0
